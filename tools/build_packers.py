#!/usr/bin/env python3
"""Build techvet's packer and protector signatures from APKiD's YARA rules: facts only.

    python tools/build_packers.py path/to/APKiD.git                 a bare git mirror or a checkout (HEAD)
    python tools/build_packers.py path/to/APKiD --ref v3.0.0        at a tag or commit
    python tools/build_packers.py path/to/APKiD --check             print the summary, write nothing

APKiD's rules are GPL-3.0. What this tool takes from them are facts a person can check in any packed
app with ``unzip -l`` and ``dexdump``: the names of files a packer adds to the package, the classes
its stub defines, the names of its native libraries, and the product a rule names. No rule text,
condition or byte pattern is copied; the output says so in its ``licence`` line.

Every rule in APKiD's packer, protector (and, where a packer in substance, obfuscator) files ends in
exactly one place of ``src/techvet/knowledge/data/packers_apkid.json``:

- an entry (a product: id, name, vendor, country, kind, the rules it comes from), with its facts
  sorted into *strong* signatures, any one of which names the packer, and *weak* groups: names too
  common alone (``libsecurity.so``, ``assets/tid``) that count only when ``min`` of them are there,
  where APKiD's own rule asks for several of them; facts an entry could not take are listed under
  its ``not_taken`` with the reason;
- or ``not_covered``, a rule none of whose facts techvet can express (byte patterns in code,
  strings inside native libraries, ELF section names), with the reason.

Precision comes first: a name that matches ordinary apps' files, a platform or library class, a
string every app holds, or a native library LibChecker (native_libs.json) gives to another SDK is
weak or not taken. ``kind: sdk`` marks a runtime protection SDK beside readable app code (MSA's
OAID library, freeRASP): the detector reports it as TV507, not as a packer.

A rule this tool has no line for (APKiD added one) stops the build: the table below must say what
the rule is before its facts are taken, so nothing is dropped or misattributed silently.

Hand-curated packers in ``antianalysis.yaml`` keep precedence: an APKiD rule about one of them adds
its facts to that entry's id (``tencent-legu``, ``jiagu360``, ...), and a fact a curated signature
already matches is not repeated (``curated_covers``).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import re
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "src/techvet/knowledge/data"
OUT = DATA / "packers_apkid.json"  # JSON: read at every start, five times faster than YAML
RULE_FILES = (
    "apk/packers.yara",
    "apk/protectors.yara",
    "dex/packers.yara",
    "dex/protectors.yara",
    "elf/packers.yara",
    "elf/protectors.yara",
    "apk/obfuscators.yara",
    "dex/obfuscators.yara",
    "elf/obfuscators.yara",
    "res/protectors.yara",
    "res/obfuscators.yara",
    "dll/obfuscators.yara",
)

# ---------------------------------------------------------------------------------------- products
# id -> name, vendor, country (ISO 3166 alpha-2, None when the maker is unknown or an individual's
# open-source project), kind: "packer" (hides or encrypts the app's code), "protector" (shields or
# transforms it), "sdk" (a runtime self-protection or attestation SDK beside readable app code:
# reported as TV507, not as a packer). Chinese vendors first. Countries come from the vendor's own site in the
# rule's url (a .cn domain, a company page) or from public analyses; unknown stays None.
CN, KR = "CN", "KR"
PRODUCTS: dict[str, tuple[str, str, str | None, str]] = {
    # curated in antianalysis.yaml: name, vendor and country there win; listed here for the rules
    "tencent-legu": ("Tencent Legu / MTP", "Tencent", CN, "packer"),
    "jiagu360": ("Qihoo 360 Jiagu", "Qihoo 360", CN, "packer"),
    "bangcle-secneo": ("Bangcle / SecNeo", "Bangcle (SecNeo)", CN, "packer"),
    "ijiami": ("Ijiami", "Ijiami", CN, "packer"),
    "baidu-protect": ("Baidu app protection", "Baidu", CN, "packer"),
    "alibaba-protect": ("Alibaba app protection", "Alibaba", CN, "packer"),
    "netease-yidun": ("NetEase Yidun", "NetEase", CN, "packer"),
    "dexguard": ("DexGuard", "Guardsquare", "BE", "protector"),
    # Chinese
    "apkprotect": ("APKProtect", "APKProtect (apkprotect.com)", CN, "packer"),
    "dingxiang": ("DingXiang app protection", "Dingxiang Technologies (顶象技术)", CN, "packer"),
    "naga": ("Naga", "Beijing Najia Information Technology (娜迦)", CN, "packer"),
    "kiwisec": ("KiwiSec", "KiwiSec (几维安全)", CN, "packer"),
    "pangxie": ("PangXie", "PangXie (螃蟹)", CN, "packer"),
    "nqshield": ("NQ Shield", "NQ Mobile (网秦)", CN, "packer"),
    "tongfu-shield": ("Tongfu Shield", "Tongfudun / PayEgis (通付盾)", CN, "packer"),
    "nesun": ("Nesun", "Nesun (nesun.cn)", CN, "packer"),
    "kiro": ("Kiro", "Kiro", CN, "packer"),
    "virbox": ("Virbox Protector", "SenseShield (Virbox)", CN, "protector"),
    "manxi": ("Manxi Security", "Manxi (manxi-inc.com)", CN, "packer"),
    "venustech": ("Venustech app protection", "Venustech (启明星辰)", CN, "packer"),
    "haiyun": ("Haiyun'an Security", "Haiyun'an (海云安, secidea.com)", CN, "protector"),
    "oppo-protect": ("OPPO Protect SDK", "OPPO", CN, "sdk"),
    "xiaomi-xsof": ("Xiaomi Security Open Service SDK", "Xiaomi", CN, "sdk"),
    "msa-sdk": ("MSA SDK (OAID, anti-debugging)", "Mobile Security Alliance (移动安全联盟)", CN, "sdk"),
    "unicom-loader": ("Unicom SDK Loader", "China Unicom", CN, "packer"),
    "chornclickers": ("ChornClickers (named by APKiD)", "unknown, Chinese by APKiD's note", CN, "packer"),
    # Korean
    "appguard": ("nProtect AppGuard", "INCA Internet", KR, "packer"),
    "nhn-appguard": ("NHN AppGuard", "NHN Cloud (TOAST)", KR, "packer"),
    "dxshield": ("DxShield", "NSHC", KR, "packer"),
    "liapp": ("LIAPP", "Lockin Company", KR, "packer"),
    "appsuit": ("AppSuit", "Stealien", KR, "packer"),
    "appsealing": ("AppSealing", "INKA Entworks", KR, "packer"),
    "appiron": ("AppIron", "Secucen", KR, "packer"),
    "eversafe": ("Eversafe", "Everspin", KR, "packer"),
    "appcamo": ("AppCamo", "AppCamo", KR, "packer"),
    "ahope-appshield": ("Ahope AppShield", "Ahope", KR, "protector"),
    "vguard": ("VGuard", "VGuard (vguard.co.kr)", KR, "protector"),
    "appdefence": ("AppDefence", "ExTrus", KR, "protector"),
    "gpresto": ("G-Presto (anti-cheat)", "Largosoft", KR, "packer"),
    "ahnlab-v3": ("AhnLab V3 engine", "AhnLab", KR, "sdk"),
    "medusah": ("Medusah", "SEWORKS", KR, "packer"),
    "appsolid": ("AppSolid", "SEWORKS", KR, "packer"),
    # elsewhere
    "promon": ("Promon Shield", "Promon", "NO", "packer"),
    "verimatrix": ("Verimatrix App Shield (Inside Secure)", "Verimatrix", "FR", "protector"),
    "gemalto-protector": ("Gemalto / Thales protector", "Thales (Gemalto)", "FR", "protector"),
    "approov": ("Approov", "CriticalBlue", "GB", "sdk"),
    "kony": ("Kony", "Kony (Temenos)", "US", "packer"),
    "whitecryption": ("whiteCryption", "Intertrust", "US", "protector"),
    "appdome": ("Appdome", "Appdome", "US", "protector"),
    "arxan": ("Arxan GuardIT", "Digital.ai (Arxan)", "US", "protector"),
    "zimperium": ("Zimperium zShield / zDefend", "Zimperium", "US", "packer"),
    "google-pairip": ("Google Play automatic integrity protection", "Google", "US", "protector"),
    "denuvo": ("Denuvo", "Irdeto (Denuvo)", "NL", "protector"),
    "vkey": ("V-Key V-OS App Protection", "V-Key", "SG", "sdk"),
    "freerasp": ("freeRASP", "Talsec", "CZ", "sdk"),
    "build38": ("Build38", "Build38", "DE", "sdk"),
    "bugsmirror": ("BugsMirror Defender", "BugsMirror", "IN", "sdk"),
    "protectt": ("Protectt", "Protectt.ai", "IN", "sdk"),
    "fiveplay": ("5play.ru mod protection", "5play.ru", "RU", "packer"),
    "dexprotector": ("DexProtector", "Licel", None, "packer"),
    "dexprotector-aide": ("DexProtector for AIDE", "unknown (an app in Google Play)", None, "packer"),
    "dexprotectx": ("DexProtect X (DexShellx)", "unknown", None, "packer"),
    "apkprotect-mcal": ("APKProtect 6.x / 9.x (com.mcal.dexprotect)", "unknown (a Google Play app)", None, "packer"),
    "app-fortify": ("App Fortify", "unknown", None, "packer"),
    "qdbh": ("qdbh packer (named by APKiD)", "unknown", None, "packer"),
    "secenh": ("Secenh", "unknown", None, "packer"),
    "apkpacker": ("ApkPacker", "unknown", None, "packer"),
    "epicvm": ("Epic VM", "unknown", None, "packer"),
    "kangapack": ("KangaPack", "unknown (malware packer)", None, "packer"),
    "crazy-dog": ("Crazy Dog Wrapper", "unknown", None, "packer"),
    "androidrepublic": ("Android Republic mods (Aegis)", "androidrepublic.org", None, "packer"),
    "blackmod": ("BlackMod", "blackmod.net", None, "packer"),
    "shield-sdk": ("SHIELD SDK", "SHIELD (shield.com)", None, "sdk"),
    "bshield": ("BShield", "BShield (bshield.io)", None, "protector"),
    "bureau": ("Bureau", "Bureau (bureau.id)", None, "sdk"),
    "trusteer": ("IBM Trusteer SDK", "IBM", "US", "protector"),
    "crackproof": ("CrackProof", "Hypertech", "JP", "packer"),
    "metafortress": ("MetaFortress (Inside Secure)", "Verimatrix", "FR", "protector"),
    "epona": ("Quarks AppShield (Epona)", "Quarkslab", "FR", "protector"),
    "jiagu-apktoolplus": ("Jiagu (ApkToolPlus, open source)", "linchaolong (open source)", None, "packer"),
    "apkencryptor": ("ApkEncryptor (open source)", "FlyingYu-Z (open source)", None, "packer"),
    "dpt-shell": ("dpt-shell (open source)", "luoyesiqiu (open source)", None, "packer"),
    "easyprotector": ("EasyProtector (open source)", "lamster2018 (open source)", None, "sdk"),
    "obfuscapk-libencryption": ("Obfuscapk LibEncryption (open source)", "Obfuscapk (open source)", None, "packer"),
}
CURATED_IDS = frozenset(
    {"tencent-legu", "jiagu360", "bangcle-secneo", "ijiami", "baidu-protect", "alibaba-protect", "netease-yidun"}
    | {"dexguard"}
)

# APKiD rule name -> product id. Rule names repeat across the apk, dex and elf files for one product.
RULES: dict[str, str] = {
    # Tencent
    "tencent": "tencent-legu", "tencent_a": "tencent-legu", "tencent_b": "tencent-legu",
    "tencent_legu": "tencent-legu", "tencent_legu_VMP": "tencent-legu", "tencent_elf": "tencent-legu",
    "tencent_legu_VMP_elf": "tencent-legu",
    # Qihoo 360
    "qihoo360": "jiagu360", "jiagu": "jiagu360", "jiagu_native": "jiagu360",
    "jiagu_a": "jiagu-apktoolplus",
    # Bangcle / SecNeo
    "secneo_base": "bangcle-secneo", "secneo_a": "bangcle-secneo", "secneo_b": "bangcle-secneo",
    "secneo_c": "bangcle-secneo", "bangcle": "bangcle-secneo", "bangcle_secshell": "bangcle-secneo",
    "upx_elf_bangcle_secneo": "bangcle-secneo", "upx_elf_bangcle_secneo_newer": "bangcle-secneo",
    "ijiami": "ijiami", "upx_elf_ijiami": "ijiami",
    "baidu": "baidu-protect",
    "alibaba": "alibaba-protect", "alibaba_sec": "alibaba-protect",
    "yidun": "netease-yidun",
    "dexguard_c": "dexguard",  # dexguard_a, _b and _d: see SKIP (the curated traits express them)
    "dexguard_native": "dexguard", "dexguard_native_a": "dexguard", "dexguard_native_arm64": "dexguard",
    # other Chinese
    "apkprotect": "apkprotect", "apkprotect_a": "apkprotect-mcal", "apkprotect_b": "apkprotect-mcal",
    "dingxiang_apk": "dingxiang", "dingxiang_dex": "dingxiang",
    "naga": "naga",
    "kiwisec_apk": "kiwisec", "kiwisec_dex": "kiwisec", "kiwisec_elf": "kiwisec",
    "pangxie": "pangxie", "pangxie_dex": "pangxie",
    "nqshield": "nqshield",
    "tongfu_shield": "tongfu-shield", "tongfu_shield_elf": "tongfu-shield",
    "nesun_apk": "nesun", "nesun_dex": "nesun", "nesun_elf": "nesun",
    "kiro": "kiro",
    "virbox_apk": "virbox", "virbox_elf": "virbox", "jiagu_k": "virbox",  # its stub is Lvirbox/StubApp;
    "manxi_sec": "manxi",
    "venustech": "venustech",
    "haiyun": "haiyun",
    "oppo_protect": "oppo-protect",
    "xiaomi_xsof_sdk": "xiaomi-xsof",
    "msa_sdk": "msa-sdk",
    "unicom_loader": "unicom-loader",
    "chornclickers": "chornclickers",
    # Korean
    "appguard": "appguard", "appguard_a": "appguard", "appguard_b": "appguard", "appguard_d": "appguard",
    "appguard_dex": "appguard", "appguard_elf": "appguard", "appguard_elf_b": "appguard",
    "appguard_c": "nhn-appguard", "nhn_appguard_dex": "nhn-appguard", "nhn_appguard": "nhn-appguard",
    "dxshield": "dxshield", "dxshield_elf": "dxshield",
    "liapp": "liapp", "liapp_elf": "liapp",
    "appsuit_packer": "appsuit", "appsuit_packer_a": "appsuit", "appsuit_a": "appsuit", "appsuit_b": "appsuit",
    "appsealing": "appsealing", "appsealing_a": "appsealing", "appsealing_loader_1_2_2": "appsealing",
    "appsealing_core_2_10_10": "appsealing",
    "appiron": "appiron",
    "eversafe": "eversafe", "eversafe_elf": "eversafe",
    "appcamo": "appcamo",
    "ahope_appshield": "ahope-appshield",
    "vguard": "vguard",
    "appdefence": "appdefence",
    "gpresto_apk": "gpresto", "gpresto_dex": "gpresto", "gpresto_elf": "gpresto",
    "ahnlab_v3_engine": "ahnlab-v3",
    "medusah": "medusah", "medusah_dex": "medusah",
    "medusah_appsolid": "appsolid", "medusah_appsolid_dex": "appsolid",
    # elsewhere
    "promon": "promon", "promon_a": "promon",
    "verimatrix": "verimatrix", "insidesecure": "verimatrix", "verimatrix_arm64": "verimatrix",
    "verimatrix_arm64_a": "verimatrix", "verimatrix_arm64_b": "verimatrix", "verimatrix_arm64_c": "verimatrix",
    "metafortress": "metafortress",
    "gemalto_protector": "gemalto-protector", "gemalto_sdk": "gemalto-protector",
    "approov": "approov",
    "kony": "kony",
    "whitecryption_dex": "whitecryption", "whitecryption_dex_a": "whitecryption",
    "whitecryption_elf": "whitecryption", "whitecryption_elf_a": "whitecryption",
    "appdome_dex": "appdome", "appdome_elf": "appdome", "appdome_elf_a": "appdome", "appdome_elf_b": "appdome",
    "arxan_guardit": "arxan", "arxan": "arxan", "arxan_multidex": "arxan", "arxan_b": "arxan", "arxan_c": "arxan",
    "arxan_arm32": "arxan", "arxan_arm64": "arxan",
    "zimperium_zshield_apk": "zimperium", "zimperium_zshield": "zimperium", "zimperium_zshield_a": "zimperium",
    "zimperium_zdefend": "zimperium", "zimperium_z9": "zimperium", "zimperium_zcloud": "zimperium",
    "googleIntegrityProtection": "google-pairip",
    "denuvo_apk": "denuvo", "denuvo_elf": "denuvo",
    "vkey_apk": "vkey", "vkey_elf": "vkey",
    "free_rasp_old": "freerasp", "free_rasp_new": "freerasp", "free_rasp_dex": "freerasp",
    "free_rasp_dart": "freerasp",
    "build38": "build38",
    "bugsmirror": "bugsmirror",
    "protectt": "protectt", "protectt_dex": "protectt",
    "_5play_ru": "fiveplay",
    "dexprotector": "dexprotector", "dexprotector_a": "dexprotector", "dexprotector_b": "dexprotector",
    "dexprotector_c": "dexprotector", "dexprotector_d": "dexprotector", "dexprotector_alice": "dexprotector",
    "dexpro_aide_a": "dexprotector-aide", "dexpro_aide_b": "dexprotector-aide",
    "dexprotectx": "dexprotectx",
    "app_fortify": "app-fortify",
    "qdbh_packer": "qdbh",
    "secenh": "secenh",
    "apkpacker": "apkpacker",
    "epicvm": "epicvm",
    "kangapack": "kangapack",
    "crazy_dog_wrapper": "crazy-dog",
    "aegis": "androidrepublic", "aegis_elf": "androidrepublic", "androidrepublic": "androidrepublic",
    "androidrepublic_vip": "androidrepublic",
    "blackmod": "blackmod",
    "shield_sdk": "shield-sdk",
    "bshield": "bshield",
    "bureau": "bureau",
    "tso_trusteer_sdk": "trusteer",
    "crackproof": "crackproof", "crackproof_a": "crackproof",
    "epona": "epona",
    "apkencryptor": "apkencryptor",
    "dpt_shell": "dpt-shell",
    "easyprotector": "easyprotector",
    "obfuscapk_libencryption": "obfuscapk-libencryption",
}

# Rules about something other than a packer or protector: said why, and not taken.
_OBFUSCATOR = "an obfuscator: it renames or encrypts strings, the code stays in the package (not TV501's concern)"
_ROOT_CHECK = "a root or jailbreak check library: TV502 reports root detection, not TV501"
SKIP: dict[str, str] = {
    "andres": "AndResGuard resource-name obfuscation, not a packer",
    "rootbeer": _ROOT_CHECK,
    "flutterjailbreakdetection": _ROOT_CHECK,
    "flutter_security_checker": _ROOT_CHECK,
    "CNProtect_dex": "junk-instruction anti-disassembly in DEX code (a byte pattern in method bodies), no file or name",
    "apkguard_dex": "a byte pattern in the stub's attachBaseContext code; the generic stub-loader check (TV501 "
    "generic-stub) looks for this shape",
    "cryptoshell_dex": "a byte pattern in the stub's attachBaseContext code; the generic stub-loader check looks "
    "for this shape",
    "jar_pack01": "byte patterns across DEX strings of an unnamed packer; no name of its own",
    "gaoxor": "a byte pattern in the stub's code plus common strings; the generic stub-loader check looks for it",
    "jsonpacker": "XOR byte patterns in DEX code (a malware packer with no file or class name)",
    "multidexpacker": "byte patterns in DEX code (a malware packer with no file or class name)",
    "custom_multidex": "byte patterns in DEX code of an unnamed packer",
    "custom_flutter": "byte patterns in DEX code of an unnamed packer",
    "upx_elf32_arm_stub": "UPX: a byte pattern in native code",
    "upx_stub": "UPX: a byte pattern in native code",
    "upx_unmodified": "UPX: a byte pattern in native code",
    "upx_sharedlib_unmodifed": "UPX: a byte pattern in native code",
    "upx_unknown_version": "UPX: a byte pattern in native code",
    "upx_embedded_inside_elf": "UPX: a byte pattern in native code",
    "upx_unknown_version_modified": "UPX: a byte pattern in native code",
    "upx_compressed_apk": "UPX: a byte pattern in native code",
    "upx_unknown_version_unmodified": "UPX: a byte pattern in native code",
    "upx_elf_joker": "UPX renamed by the Joker malware: a byte pattern in native code",
    "short_unicode_field_names": _OBFUSCATOR,
    "short_unicode_method_names": _OBFUSCATOR,
    "unreadable_field_names": _OBFUSCATOR,
    "unreadable_method_names": _OBFUSCATOR,
    "bitwise_antiskid": _OBFUSCATOR,
    "allatori_demo": _OBFUSCATOR,
    "aamo_str_enc": _OBFUSCATOR,
    "kiwi_amazon": _OBFUSCATOR,
    "blackobfuscator": _OBFUSCATOR,
    "mtprotector_dex": _OBFUSCATOR,
    "mtprotector_res": _OBFUSCATOR,
    "stringfog": _OBFUSCATOR,
    "alipay": _OBFUSCATOR,
    "firehash": _OBFUSCATOR,
    "advobfuscator": _OBFUSCATOR,
    "ay": _OBFUSCATOR,
    "octopus_codevo": _OBFUSCATOR,
    "snapprotect": _OBFUSCATOR,
    "safeengine": _OBFUSCATOR,
    "hikari": _OBFUSCATOR,
    "ollvm_lsposed": _OBFUSCATOR,
    "beebyte": _OBFUSCATOR,
    # DexGuard is curated: its renamed-class traits in antianalysis.yaml express these rules' class shapes
    "dexguard_a": "a byte pattern in DexGuard's string decryption plus common method names; the curated DexGuard "
    "entry's renamed-class traits identify DexGuard",
    "dexguard_b": "DexGuard's renamed classes (o/aux, o/con, $if): the curated DexGuard entry's renamed-class traits",
    "dexguard_d": "DexGuard's renamed classes: the curated DexGuard entry's renamed-class traits",
}
_OLLVM = re.compile(r"^(ollvm\w*|byteguard\w*)$")
_UPX = re.compile(r"^upx_elf_\d+_\d+$")
# Single facts of a mapped rule that name something other than the product (said why, not taken).
_GEMALTO_SDK = "Gemalto's authentication SDK (an obfuscated SDK, not a protector)"
EXCLUDE: dict[tuple[str, str], str] = {
    ("gemalto_sdk", "Lcom/gemalto/idp/mobile/"): _GEMALTO_SDK,
    ("gemalto_sdk", "Lcom/gemalto/ezio/mobile/sdk/"): _GEMALTO_SDK,
    # DexProtector's own encrypted-DEX asset too: alone it would name both; the AIDE build's rule needs
    # its Lua asset beside it, which stays and names that build alone
    ("dexpro_aide_a", r"^assets/classes\.dex\.dat$"): "DexProtector's own asset name as well (its rule names it)",
    # a string inside the library that APKiD requires together with Promon's ELF section names; as a
    # file name alone any "shield" library would match
    ("promon", r"(^|/)libshield\.so$"): "a generic library name; APKiD requires Promon's ELF section names with it",
}

# --------------------------------------------------------------------------- precision judgements
# File names and paths too common to name a packer alone; they count only with others (weak group).
COMMON_FILES = frozenset(
    {
        "libloader.so", "libsecurity.so", "libpolarssl.so", "libsettings.so", "libdefender.so", "libchecks.so",
        "libcompatible.so", "libcompatible_x86.so", "libmd.so", "libtak.so", "libalib.so", "libedex.so",
        "libvmpc.so", "libitsec.so",
        "libwhite-box.so", "libsys_misc.so", "libsecure_keys.so", "libndkdatacollector.so", "libvtap.so",
        "libloadTA.so", "libzcloud.so", "libUnpacker.so", "libEngineManager.so", "libalice.so", "libshell.so",
        "classes.jar", "libdecrypt.jar", "libz9.so", "libkadp.so", "libdpt.so", "libxloader.so",
        "assets/firmware", "assets/kernel.bin", "assets/signature", "assets/res.zip", "assets/mode", "assets/PK",
        "assets/virtual", "assets/tid", "assets/sign.bin", "assets/high_resolution.png",
        "assets/application.properties", "assets/js/startup.js", "assets/__version.txt", "assets/__param.data",
        "assets/sbox", "assets/agconfig", "assets/m7a", "assets/m8a", "assets/itse", "assets/dp.mp3",
        "assets/resources.dat", "assets/libData.so", "assets/app_name", "assets/app_acf", "assets/respatcher.jar",
    }
)
# Names that belong to something else altogether: never a packer's fact, even in company.
REJECT_FILES = {
    "libsandhook.so": "SandHook, an open-source hooking library many apps ship",
    "libsandhook-native.so": "SandHook, an open-source hooking library many apps ship",
}
REJECT_PATTERNS: dict[str, str] = {}
NATIVE_LIBS: dict[str, dict[str, str]] = json.loads((DATA / "native_libs.json").read_text(encoding="utf-8"))[
    "libraries"
]
# Converted patterns judged too common (besides those that match PROBES below).
COMMON_PATTERNS = frozenset(
    {
        r"^assets/[0-9a-f]{32}/[0-9a-f]{32}\.png$",
        r"^assets/[^/]*/0\.odex$",
        r"^assets/[^/]*\.szip$",
        r"^assets/csn[^/]*\.data\d?$",
        r"^assets/dex[a-z0-9]{3}\.zip$",
    }
)
# Names ordinary apps ship: a file pattern that matches one of them is common, whatever it says;
# one that matches several kinds of them names nothing at all.
PROBES = (
    "lib/arm64-v8a/libc++_shared.so", "lib/arm64-v8a/libflutter.so", "lib/arm64-v8a/libapp.so",
    "lib/armeabi-v7a/libmain.so", "lib/arm64-v8a/libunity.so", "lib/arm64-v8a/libil2cpp.so",
    "lib/arm64-v8a/libcrashlytics.so", "lib/arm64-v8a/libsqlcipher.so", "lib/x86/libnativeutils.so",
    "lib/arm64-v8a/libimagepipeline.so", "lib/arm64-v8a/libbugly.so", "lib/armeabi/libweibosdkcore.so",
    "assets/bgm.mp3", "assets/sound/click.mp3", "assets/music.mp3", "assets/config.dat", "assets/data.dat",
    "assets/a.dat", "assets/cache.dat", "assets/fonts/Roboto-Regular.ttf", "assets/www/index.html",
    "assets/images/logo.png", "assets/classes.zip", "assets/dexopt/baseline.prof", "assets/sdk/config.json",
    "assets/map/0.odex", "assets/plugin.apk", "assets/model/0.bin",
)
# LibChecker's labels (native_libs.json) that are packers or protectors: a library LibChecker gives
# any other label is another SDK's, whatever a packer's code mentions it for (libxgVipSecurity.so,
# named inside Legu's VMP library, is Tencent's push SDK).
LIBCHECKER_PACKERS = frozenset({"360 加固", "梆梆安全", "爱加密", "百度应用加固", "网易易盾", "阿里聚安全", "MSA SDK",
                                "EasyProtector"})
# Strings every app's code holds: never a packer's fact, even in company.
COMMON_STRINGS = frozenset({"getClass", "getDeclaredMethod", "invoke", "attachBaseContext", "JNI_OnLoad", "/lib",
                            "mprotect", "uncompress"})
# Java packages of the platform and common libraries: a class under one never names a packer.
FRAMEWORK = ("Landroid/", "Landroidx/", "Ljava/", "Ljavax/", "Lkotlin/", "Ldalvik/", "Lcom/google/",
             "Lorg/apache/", "Lorg/json/", "Lorg/xmlpull/", "Lcom/android/", "Lsun/", "Llibcore/")
# First package segments that are a domain's top level, not a name (Lcom/_ names nothing).
TOP_LEVELS = frozenset({"com", "cn", "net", "org", "io", "ai", "kr", "jp", "de", "me", "tv", "co", "app", "sdk"})
# The platform's own libraries, which every app links.
SYSTEM_LIBS = frozenset({"libc.so", "libz.so", "libdl.so", "liblog.so", "libm.so", "libstdc++.so", "libandroid.so",
                         "libc++_shared.so", "libjnigraphics.so"})

NATIVE_STRING = "strings inside a native library (techvet reads library names, not their bytes)"
CODE_BYTES = "byte patterns in code (instructions, not names)"
SECTIONS = "ELF section names (techvet does not read native libraries' section tables)"
CODE_PATTERN = "a regular expression over strings in the code"


# ------------------------------------------------------------------------------------ YARA reading
@dataclass
class YaraString:
    ident: str
    kind: str  # text | regex | hex
    value: str


@dataclass
class YaraRule:
    name: str
    file: str
    private: bool
    meta: dict[str, str]
    strings: list[YaraString]
    condition: str


def _strip_comments(text: str) -> str:
    """YARA source without comments, quote- and regex-aware (URLs in strings keep their ``//``)."""
    out: list[str] = []
    i, n = 0, len(text)
    last = ""  # last non-space character emitted: a regex literal follows '='
    while i < n:
        c = text[i]
        if c == '"' or (c == "/" and last == "="):
            j = i + 1
            while j < n and text[j] != c:
                j += 2 if text[j] == "\\" else 1
            out.append(text[i : j + 1])
            i, last = j + 1, c
        elif text.startswith("//", i):
            i = text.find("\n", i)
            i = n if i < 0 else i
        elif text.startswith("/*", i):
            j = text.find("*/", i + 2)
            i = n if j < 0 else j + 2
        else:
            out.append(c)
            last = last if c.isspace() else c
            i += 1
    return "".join(out)


_RULE_HEAD = re.compile(r"^(private\s+)?rule\s+(\w+)\s*(?::[^{\n]*)?\{?", re.M)
_SECTION = re.compile(r"^\s*(meta|strings|condition)\s*:", re.M)
_META = re.compile(r'(\w+)\s*=\s*"((?:[^"\\]|\\.)*)"')
_STRING_HEAD = re.compile(r"\s*\$(\w*)\s*=\s*")


def parse_yara(text: str, fname: str) -> list[YaraRule]:
    """The rules of one YARA file: name, meta, strings and condition text (rules end at a ``}``
    in the first column, as APKiD writes them)."""
    text = _strip_comments(text)
    rules = []
    heads = list(_RULE_HEAD.finditer(text))
    for k, head in enumerate(heads):
        body = text[head.end() : heads[k + 1].start() if k + 1 < len(heads) else len(text)]
        close = re.search(r"^\}", body, re.M)
        body = body[: close.start()] if close else body
        parts: dict[str, str] = {}
        marks = list(_SECTION.finditer(body))
        for m, mark in enumerate(marks):
            parts[mark.group(1)] = body[mark.end() : marks[m + 1].start() if m + 1 < len(marks) else len(body)]
        rules.append(
            YaraRule(
                name=head.group(2),
                file=fname,
                private=bool(head.group(1)),
                meta={key: _unescape(value) for key, value in _META.findall(parts.get("meta", ""))},
                strings=_parse_strings(parts.get("strings", "")),
                condition=" ".join(parts.get("condition", "").split()),
            )
        )
    return rules


def _parse_strings(section: str) -> list[YaraString]:
    out = []
    i, n = 0, len(section)
    while i < n:
        m = _STRING_HEAD.match(section, i)
        if not m:
            i = section.find("$", i + 1)
            if i < 0:
                break
            continue
        ident, i = m.group(1), m.end()
        opener = section[i]
        if opener in '"/':
            j = i + 1
            while j < n and section[j] != opener:
                j += 2 if section[j] == "\\" else 1
            raw = section[i + 1 : j]
            out.append(YaraString(ident, "text", _unescape(raw)) if opener == '"' else YaraString(ident, "regex", raw))
        elif opener == "{":
            j = section.index("}", i)
            out.append(YaraString(ident, "hex", section[i + 1 : j]))
        else:
            raise ValueError(f"cannot read string ${ident} at {section[i : i + 40]!r}")
        i = j + 1
    return out


def _unescape(s: str) -> str:
    def one(m: re.Match[str]) -> str:
        e = m.group(1)
        if e.startswith("x"):
            return chr(int(e[1:], 16))
        return {"n": "\n", "t": "\t", "r": "\r"}.get(e, e)

    return re.sub(r"\\(x[0-9A-Fa-f]{2}|.)", one, s)


# ------------------------------------------------------------------------------- hex to strings
_WILD, _JUMP = -1, -2


def _hex_alternatives(body: str, limit: int = 16) -> list[list[int]]:
    """The byte sequences a hex string stands for (``_WILD`` for a wildcard byte, ``_JUMP`` for a
    jump). Alternations of literal bytes are expanded when all of them together make at most
    ``limit`` sequences; otherwise every alternation is one wildcard."""
    tokens = re.findall(r"\[[^\]]*\]|\(|\)|\||[0-9A-Fa-f?]{2}", body)
    items: list[list[list[int]] | int] = []  # a byte, or the branches of an alternation
    i = 0
    while i < len(tokens):
        t = tokens[i]
        if t == "(":
            depth, j = 1, i + 1
            while j < len(tokens) and depth:
                depth += {"(": 1, ")": -1}.get(tokens[j], 0)
                j += 1
            branches: list[list[int]] = [[]]
            for tok in tokens[i + 1 : j - 1]:
                if tok == "|":
                    branches.append([])
                else:
                    branches[-1].append(int(tok, 16) if re.fullmatch(r"[0-9A-Fa-f]{2}", tok) else _WILD)
            items.append(branches)
            i = j
            continue
        items.append(int(t, 16) if re.fullmatch(r"[0-9A-Fa-f]{2}", t) else _JUMP if t.startswith("[") else _WILD)
        i += 1
    combos = 1
    for item in items:
        if isinstance(item, list):
            combos *= len(item)
    seqs: list[list[int]] = [[]]
    for item in items:
        if isinstance(item, int):
            seqs = [s + [item] for s in seqs]
        elif combos <= limit and all(_WILD not in br for br in item):
            seqs = [s + br for s in seqs for br in item]
        else:
            seqs = [s + [_WILD] for s in seqs]
    return seqs


def _hex_strings(body: str) -> list[str]:
    """The readable strings a hex pattern spells from their first character: runs of literal bytes
    split at NUL, the DEX length byte taken off (``00 <len> <text> 00``); a run after a jump or an
    unknown byte is the tail of something and is left out."""
    out: list[str] = []
    for seq in _hex_alternatives(body):
        runs: list[tuple[bytes, bool]] = []  # (bytes, starts a string)
        current: list[int] = []
        starts = True
        prev = -3
        for b in seq + [_JUMP]:
            if b >= 0:
                current.append(b)
            else:
                if current:
                    runs.append((bytes(current), starts))
                # after "00 ??" the wildcard is a DEX length byte: the next run starts a string
                starts = b == _WILD and prev == 0
                current = []
            prev = b
        for raw, run_starts in runs:
            chunks = raw.split(b"\x00")
            for c, chunk in enumerate(chunks):
                if c == 0 and not run_starts:
                    continue
                if c > 0 and chunk and (chunk[0] < 0x20 or (c < len(chunks) - 1 and chunk[0] == len(chunk) - 1)):
                    chunk = chunk[1:]  # the DEX length prefix
                if len(chunk) >= 4 and all(0x20 <= x < 0x7F for x in chunk):
                    text = chunk.decode()
                    if sum(ch.isalpha() for ch in text) >= 3:
                        out.append(text)
    return list(dict.fromkeys(out))


# ------------------------------------------------------------------------------------ facts
@dataclass
class Fact:
    kind: str  # file | class | string | none
    value: str  # file: a regex; class: a descriptor or a descriptor prefix; string: a DEX string prefix
    rule: str
    source: str  # the name as APKiD's rule has it, for the not_taken list
    why: str = ""  # kind none, or a weak fact: why it cannot stand alone


def _esc(s: str) -> str:
    return re.sub(r"[.^$*+?{}\[\]|()\\]", lambda m: "\\" + m.group(0), s)


def _file_fact(s: str, rule: str, where: str) -> Fact:
    """A file name or path in the package as an anchored regex over entry names."""
    if re.match(r"L[a-z]\w*/", s) and "." not in s:
        return _dex_fact(s, rule)  # a class name APKiD looks for in the whole package
    named = s.startswith("/")  # "/LIAPPEgg": a path component, whatever its shape
    s = s.lstrip("/")
    lib = re.fullmatch(r"lib/[^/]+/([^/]+)", s)
    s = lib.group(1) if lib else s
    has_ext = bool(re.search(r"\.[A-Za-z0-9]{1,12}$", s))
    if "/" not in s:
        if not has_ext and not named:
            where_text = "the compiled resources" if where == "res" else "the package's bytes"
            return Fact("none", "", rule, s, f"a string anywhere in {where_text}, not a file name")
        return Fact("file", r"(^|/)" + _esc(s) + ("$" if has_ext else "(/|$)"), rule, s)
    head = "^" if re.match(r"(assets|lib|res|META-INF|src)/", s) else r"(^|/)"
    if s.endswith("/"):
        return Fact("file", head + _esc(s), rule, s)
    return Fact("file", head + _esc(s) + ("$" if has_ext else "(/|$)"), rule, s)


_ABI_DIR = re.compile(
    r"^lib/(\(arm\.\*\|x86\.\*\)|\(x86_64\|armeabi-v7a\|arm64-v8a\|x86\)|\(\.\*\)|\(arm\|x86\)\.\*)/"
)


def _regex_facts(src: str, rule: str) -> list[Fact]:
    """A YARA regex over entry names as bounded, anchored Python regexes: a library under
    ``lib/<abi>/`` is matched by its name wherever it is (packers move them), ``.*`` stays inside one
    path segment, a group of word alternatives becomes one fact each (so a common name among them is
    judged on its own), and anything else is refused rather than guessed."""
    r = src.replace(r"\/", "/").replace(r"\_", "_").replace(r"\-", "-")
    in_lib_dir = bool(_ABI_DIR.match(r))
    r = _ABI_DIR.sub("", r)
    r = r.replace("(arm.*|x86.*)", "(arm|x86)[^/]*").replace("(.*)", "[^/]*").replace(".*", "[^/]*")
    r = r.replace("[!-~]+", "[^/]{1,128}")
    r = re.sub(r"(?<![\\\]])\.(so|jar|dex|dat|png|bin|xml)\b", r"\\.\1", r)
    words = re.search(r"\(([^()|]{3,}(?:\|[^()|]{3,})+)\)(?![?*+{])", r)
    variants = [r[: words.start()] + alt + r[words.end() :] for alt in words.group(1).split("|")] if words else [r]
    out = []
    for variant in variants:
        prefix_only = variant.endswith("[^/]*")
        body = variant[: -len("[^/]*")] if prefix_only else variant
        unanchored_path = "/" in body.replace("[^/]", "")
        if body.startswith(("assets/", "res/", "META-INF/")):
            pattern = "^" + body
        elif in_lib_dir or not unanchored_path:
            pattern = r"(^|/)" + body
        else:
            out.append(Fact("none", "", rule, src, "a pattern over paths this tool does not rewrite"))
            continue
        pattern += "" if prefix_only else "$"
        bare = re.sub(r"\[\^/\][*+]|\(\^\|/\)|\(/\|\$\)", "", pattern)
        if re.search(r"(?<!\\)[*+]", bare):
            out.append(Fact("none", "", rule, src, "an unbounded pattern"))
            continue
        re.compile(pattern)
        out.append(Fact("file", pattern, rule, src))
    return out


def _dex_fact(s: str, rule: str) -> Fact:
    if s.startswith("L") and "/" in s and " " not in s:
        return Fact("class", s, rule, s)
    if re.fullmatch(r"[a-z]\w*(/\w+)+/?", s):  # a package path inside a descriptor
        if s.split("/")[0] in TOP_LEVELS:
            return Fact("class", "L" + s, rule, s)
        return Fact("none", "", rule, s, "the middle of a class name (techvet matches names from their start)")
    return Fact("string", s, rule, s)


def _elf_fact(s: str, rule: str) -> Fact:
    """A string from a native library: a library's name is the file it ships as; a JNI class path
    is a class the DEX defines; a path under assets/ is a file in the package."""
    if re.fullmatch(r"lib[\w.+-]+\.so", s):
        if s in SYSTEM_LIBS:
            return Fact("none", "", rule, s, "a system library every app links")
        return Fact("file", r"(^|/)" + _esc(s) + "$", rule, s)
    if s.startswith("assets/"):
        return _file_fact(s, rule, "elf")
    if re.fullmatch(r"L?[a-z]\w*(/[\w$]+){2,};?", s):
        return Fact("class", s if s.startswith("L") and s.endswith(";") else f"L{s};", rule, s)
    return Fact("none", "", rule, s, NATIVE_STRING)


def facts_of(rule: YaraRule) -> list[Fact]:
    """What techvet can match of one rule's strings, and what it cannot (with the reason)."""
    where = rule.file.split("/")[0]
    out: list[Fact] = []
    for s in rule.strings:
        if s.kind == "regex":
            if where in ("apk", "res") or (where == "elf" and s.value.startswith("lib")):
                if where == "elf" and re.search(r"\[a-z\]\{", s.value):
                    out.append(Fact("none", "", rule.name, s.value, "a random library name (any lib<letters>.so)"))
                else:
                    out.extend(_regex_facts(s.value, rule.name))
            else:
                out.append(Fact("none", "", rule.name, f"/{s.value}/", CODE_PATTERN))
            continue
        texts = [s.value.strip("\x00")] if s.kind == "text" else _hex_strings(s.value)
        texts = [t for t in texts if t]
        if not texts:
            out.append(Fact("none", "", rule.name, f"${s.ident}", CODE_BYTES))
        for text in texts:
            if where in ("apk", "res"):
                out.append(_file_fact(text, rule.name, where))
            elif where == "dex":
                out.append(_dex_fact(text, rule.name))
            else:
                out.append(_elf_fact(text, rule.name))
    if "elf.sections" in rule.condition:
        out.append(Fact("none", "", rule.name, "section names", SECTIONS))
    return out


# ------------------------------------------------------------------------------------ conditions
def required(condition: str, n_strings: int) -> int:
    """How many of a rule's strings its condition needs at least (APKiD's ``2 of them``, ``$a and
    $b``): the least over its ``or`` alternatives, each the sum of its ``and`` terms."""
    cond = re.sub(r"\bnot\s+(\([^()]*\)|\w+)", "", condition)

    def count(expr: str) -> int:
        expr = expr.strip()
        while expr.startswith("(") and expr.endswith(")") and _balanced(expr[1:-1]):
            expr = expr[1:-1].strip()
        ors = _split_top(expr, " or ")
        if len(ors) > 1:
            return min(count(o) for o in ors)
        total = 0
        for term in _split_top(expr, " and "):
            term = term.strip()
            if term.startswith("(") and term.endswith(")") and _balanced(term[1:-1]):
                total += count(term[1:-1])
            elif m := re.match(r"(\d+|any|all) of (them|\()", term):
                word = m.group(1)
                if word == "all":
                    total += n_strings if m.group(2) == "them" else 2
                else:
                    total += 1 if word == "any" else int(word)
            elif term.startswith(("$", "#")):
                total += 1
        return total

    return max(1, count(cond))


def _balanced(s: str) -> bool:
    depth = 0
    for c in s:
        depth += {"(": 1, ")": -1}.get(c, 0)
        if depth < 0:
            return False
    return depth == 0


def _split_top(expr: str, sep: str) -> list[str]:
    parts, depth, start, i = [], 0, 0, 0
    while i < len(expr):
        c = expr[i]
        depth += {"(": 1, ")": -1}.get(c, 0)
        if depth == 0 and expr.startswith(sep, i):
            parts.append(expr[start:i])
            i += len(sep)
            start = i
            continue
        i += 1
    parts.append(expr[start:])
    return parts


# ------------------------------------------------------------------------------------ strength
def judge(fact: Fact) -> tuple[str, str]:
    """("strong", "") when the fact names its packer alone; ("weak", why) when it is too common
    alone but counts with others; ("reject", why) when it names nothing at all."""
    if fact.kind == "file":
        literal = _literal(fact.value)
        if literal is not None:
            base = literal.rpartition("/")[2]
            if base in REJECT_FILES:
                return "reject", REJECT_FILES[base]
            known = NATIVE_LIBS.get(base)
            if known and known.get("label") not in LIBCHECKER_PACKERS:
                return "reject", f"LibChecker names this library {known.get('label')} ({known.get('team')})"
            if literal in COMMON_FILES or (fact.value.startswith("(^|/)") and base in COMMON_FILES):
                return "weak", "a common file name"
            stem = re.sub(r"^lib|\.(so|jar)$", "", base)
            if base.startswith("lib") and len(re.sub(r"[^A-Za-z0-9]", "", stem)) < 4:
                return "weak", "a short library name"
            return "strong", ""
        rx = re.compile(fact.value)
        if fact.value in REJECT_PATTERNS:
            return "reject", REJECT_PATTERNS[fact.value]
        hits = [p for p in PROBES if rx.search(p)]
        if len(hits) > 3:
            return "reject", f"matches nearly any file ({', '.join(hits[:2])}, ...)"
        common = [n for n in COMMON_FILES if rx.search(n if "/" in n else f"lib/arm64-v8a/{n}")]
        if common:
            return "weak", f"a common file name ({common[0]})"
        if hits:
            return "weak", f"matches ordinary files such as {hits[0]}"
        if fact.value in COMMON_PATTERNS:
            return "weak", "a pattern ordinary asset names can match"
        return "strong", ""
    if fact.kind == "class":
        if fact.value.startswith(FRAMEWORK):
            return "reject", "a platform or library class"
        segments = [re.sub(r"\W", "", seg) for seg in fact.value[1:].rstrip(";").split("/")]
        named = segments[1:] if segments[0] in TOP_LEVELS else segments
        if len(segments) < 2 or not named or len(named[0]) < 2 or (segments[0] not in TOP_LEVELS and len(named[0]) < 3):
            return "reject", "too short a package to be anyone's own"
        return "strong", ""
    if fact.value in COMMON_STRINGS:
        return "reject", "a string every app's code holds"
    parts = fact.value.rstrip(".").split(".")
    if re.fullmatch(r"[a-z][\w.]*", fact.value) and len(parts) >= 2 and (len(parts) >= 3 or parts[0] in TOP_LEVELS):
        return "strong", ""  # a dotted package name: the product's own
    return "weak", "a plain string in the code"


def _literal(pattern: str) -> str | None:
    """The name a file pattern stands for when it is a plain name or path (no wildcard), else None."""
    core = pattern
    for head in ("(^|/)", "^"):
        if core.startswith(head):
            core = core[len(head) :]
            break
    for tail in ("(/|$)", "$"):
        if core.endswith(tail):
            core = core[: -len(tail)]
            break
    if re.fullmatch(r"(?:[^.^$*+?{}\[\]|()\\]|\\[^A-Za-z0-9])*", core):
        return re.sub(r"\\(.)", r"\1", core)
    return None


def _sample_paths(fact: Fact) -> list[str]:
    lit = _literal(fact.value)
    if lit is None:
        return []
    if fact.value.startswith("(^|/)") and "/" not in lit:
        return [f"lib/arm64-v8a/{lit}" if lit.endswith(".so") else f"assets/{lit}"]
    return [lit]


# ------------------------------------------------------------------------------------ building
@dataclass
class Entry:
    id: str
    rules: list[str] = field(default_factory=list)
    urls: list[str] = field(default_factory=list)
    files: list[str] = field(default_factory=list)
    classes: list[str] = field(default_factory=list)
    strings: list[str] = field(default_factory=list)
    application: list[str] = field(default_factory=list)
    weak: list[dict[str, Any]] = field(default_factory=list)
    curated_covers: list[str] = field(default_factory=list)
    not_taken: dict[str, list[str]] = field(default_factory=dict)  # why -> facts (or rules, for byte patterns)

    def add_strong(self, fact: Fact) -> None:
        target = {"file": self.files, "class": self.classes, "string": self.strings}[fact.kind]
        if fact.value not in target:
            target.append(fact.value)
        if fact.kind == "class" and fact.value.endswith(";"):
            simple = fact.value.rpartition("/")[2]
            if "Application" in simple or simple.startswith("StubApp"):
                name = fact.value[1:-1].replace("/", ".")
                if name not in self.application:
                    self.application.append(name)

    def skip(self, fact: Fact, why: str) -> None:
        shown = fact.rule if why in (CODE_BYTES, SECTIONS) else _short(fact.source)
        items = self.not_taken.setdefault(why, [])
        if shown not in items:
            items.append(shown)

    @property
    def has_signals(self) -> bool:
        return bool(self.files or self.classes or self.strings or self.weak)


def _short(text: str, limit: int = 64) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


class Curated:
    """The hand-curated packers of antianalysis.yaml: their signatures win over APKiD's facts."""

    def __init__(self, doc: dict[str, Any]) -> None:
        self.files = [(p["id"], re.compile(f)) for p in doc.get("packers", []) for f in p.get("files", [])]
        self.classes = [(p["id"], c) for p in doc.get("packers", []) for c in p.get("classes", [])]

    def owner(self, fact: Fact) -> str | None:
        if fact.kind == "file":
            samples = _sample_paths(fact)
            for pid, rx in self.files:
                if rx.pattern == fact.value or any(rx.search(s) for s in samples):
                    return pid
        elif fact.kind == "class":
            for pid, prefix in self.classes:
                if fact.value.startswith(prefix):
                    return pid
        return None


def build(rules: list[YaraRule], curated: Curated) -> tuple[list[Entry], list[dict[str, Any]]]:
    """Entries with their facts sorted strong, weak and not taken; and the rules not covered."""
    entries: dict[str, Entry] = {}
    skipped: dict[str, list[str]] = {}
    unknown = []
    private_facts: dict[str, list[Fact]] = {}
    for rule in rules:
        upx, compiler = _UPX.match(rule.name), _OLLVM.match(rule.name)
        if rule.name in SKIP or upx or compiler:
            why = SKIP.get(rule.name) or ("UPX: a byte pattern in native code" if upx else _OBFUSCATOR)
            if rule.name not in skipped.setdefault(why, []):
                skipped[why].append(rule.name)
            continue
        pid = RULES.get(rule.name)
        if pid is None:
            unknown.append(f"{rule.file}: {rule.name} ({rule.meta.get('description', '')})")
            continue
        entry = entries.setdefault(pid, Entry(pid))
        if rule.name not in entry.rules:
            entry.rules.append(rule.name)
        url = rule.meta.get("url")
        if url and url not in entry.urls:
            entry.urls.append(url)
        facts = facts_of(rule)
        for ref in re.findall(r"\b(\w+_base)\b", rule.condition):
            facts = private_facts.get(ref, []) + facts  # secneo_base's files are secneo_a/b/c's too
        if rule.private:
            private_facts[rule.name] = facts
        weak: list[Fact] = []
        strong_in_rule = False
        for fact in facts:
            if fact.kind == "none":
                entry.skip(fact, fact.why)
                continue
            excluded = EXCLUDE.get((rule.name, fact.value))
            if excluded:
                entry.skip(fact, excluded)
                continue
            owner = curated.owner(fact)
            if owner == pid:
                if _short(fact.source) not in entry.curated_covers:
                    entry.curated_covers.append(_short(fact.source))
                continue
            if owner is not None:
                entry.skip(fact, f"a hand-curated signature of {owner} already matches it")
                continue
            verdict, why = judge(fact)
            if verdict == "strong":
                entry.add_strong(fact)
                strong_in_rule = True
            elif verdict == "weak":
                fact.why = why
                weak.append(fact)
            else:
                entry.skip(fact, why)
        strong = set(entry.files) | set(entry.classes) | set(entry.strings)
        weak = [f for f in {(f.kind, f.value): f for f in weak}.values() if f.value not in strong]
        # A weak group is APKiD's own "N of them" over the rule's facts, or all a rule has. Where the
        # rule's condition pairs a common fact with one that names the packer alone ("libX.so and any
        # of these assets"), the common ones would only add false matches of their own.
        counted = re.fullmatch(r"(?:is_\w+ and )?(\d+|any) of them(?: and is_\w+)?", rule.condition)
        if weak and strong_in_rule and not (counted and len(weak) >= 2):
            for fact in weak:
                entry.skip(fact, f"{fact.why}; it counts only beside its rule's other facts, which name the "
                                 "packer alone")
            weak = []
        if len(weak) >= 2:
            need = required(rule.condition, len(rule.strings))
            group: dict[str, Any] = {"rule": rule.name, "min": max(2, min(need, len(weak)))}
            for kind, key in (("file", "files"), ("class", "classes"), ("string", "strings")):
                values = [f.value for f in weak if f.kind == kind]
                if values:
                    group[key] = values
            if not any({k: v for k, v in g.items() if k != "rule"} == {k: v for k, v in group.items() if k != "rule"}
                       for g in entry.weak):
                entry.weak.append(group)
        else:
            for fact in weak:
                entry.skip(fact, f"{fact.why}, and its rule has no other such fact to count it with")
    if unknown:
        listed = "\n  ".join(unknown)
        raise SystemExit(f"APKiD rules this tool has no line for (add them to RULES or SKIP):\n  {listed}")
    not_covered: list[dict[str, Any]] = [{"why": why, "rules": names} for why, names in skipped.items()]
    for entry in entries.values():
        if not entry.has_signals and entry.id not in CURATED_IDS:
            not_covered.append({"why": "no fact techvet can match: " + "; ".join(entry.not_taken), "rules": entry.rules,
                                "product": PRODUCTS[entry.id][0]})
    kept = [e for e in entries.values() if e.has_signals or e.id in CURATED_IDS]
    order = {pid: n for n, pid in enumerate(PRODUCTS)}
    kept.sort(key=lambda e: (0 if PRODUCTS[e.id][2] == "CN" else 1, order[e.id]))
    return kept, not_covered


def as_document(entries: list[Entry], not_covered: list[dict[str, Any]], commit: str, commit_date: str) -> str:
    doc: dict[str, Any] = {
        "source": f"APKiD (github.com/rednaga/APKiD) apkid/rules/*/{{packers,protectors,obfuscators}}.yara at {commit}",
        "as_of": dt.date.today().isoformat(),
        "apkid_commit": commit,
        "apkid_commit_date": commit_date,
        "licence": "APKiD's rules are GPL-3.0. This file holds facts read from them (file, class and library "
        "names, product names, vendors' URLs), no rule text, condition or byte pattern.",
        "packers": [],
        "not_covered": not_covered,
    }
    for e in entries:
        name, vendor, country, kind = PRODUCTS[e.id]
        item: dict[str, Any] = {"id": e.id}
        if e.id in CURATED_IDS:
            item["curated"] = True  # antianalysis.yaml's name, vendor and country win
        else:
            item.update({"name": name, "vendor": vendor, "country": country, "kind": kind})
        item["apkid_rules"] = e.rules
        if e.urls:
            item["urls"] = e.urls
        for key in ("files", "classes", "strings", "application", "weak", "curated_covers"):
            value = getattr(e, key)
            if value:
                item[key] = value
        if e.not_taken:
            item["not_taken"] = [{"why": why, "facts": facts} for why, facts in e.not_taken.items()]
        doc["packers"].append(item)
    about = [
        "Packer and protector signatures taken from APKiD's rules by tools/build_packers.py: do not edit by hand",
        "(change the tool's tables and run it again). Hand-curated packers live in antianalysis.yaml and win.",
        "files: regexes over archive entry names, any one names the packer; classes: DEX class descriptors or",
        "descriptor prefixes the app defines; strings: DEX string-table prefixes; weak: facts too common alone,",
        "counted only when `min` of one group are present; curated_covers: facts a curated signature already",
        "matches; not_taken and not_covered: what techvet cannot use, and why.",
    ]
    return json.dumps({"about": about, **doc}, ensure_ascii=False, indent=1) + "\n"


# ------------------------------------------------------------------------------------ sources
def read_rules(repo: Path, ref: str) -> tuple[list[YaraRule], str, str]:
    """The rules at ``ref`` of a git repository (bare or not), or of a plain directory."""
    rules: list[YaraRule] = []
    if (repo / "HEAD").exists() or (repo / ".git").exists():
        commit = _git(repo, "rev-parse", ref).strip()
        date = _git(repo, "show", "-s", "--format=%cs", commit).strip()
        for name in RULE_FILES:
            rules.extend(parse_yara(_git(repo, "show", f"{commit}:apkid/rules/{name}"), name))
    else:
        commit, date = "unknown", "unknown"
        for name in RULE_FILES:
            rules.extend(parse_yara((repo / "apkid/rules" / name).read_text(encoding="utf-8"), name))
    return rules, commit, date


def _git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True, text=True).stdout


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("apkid", type=Path, help="APKiD: a checkout, a bare git mirror, or a directory")
    parser.add_argument("--ref", default="HEAD", help="commit, tag or branch to read (git only)")
    parser.add_argument("--check", action="store_true", help="print the summary, write nothing")
    args = parser.parse_args()
    rules, commit, date = read_rules(args.apkid, args.ref)
    curated = Curated(yaml.safe_load((DATA / "antianalysis.yaml").read_text(encoding="utf-8")))
    entries, not_covered = build(rules, curated)
    text = as_document(entries, not_covered, commit, date)
    json.loads(text)  # what is written must read back
    by_country: dict[str, int] = {}
    for e in entries:
        if e.id not in CURATED_IDS:
            country = PRODUCTS[e.id][2] or "unknown"
            by_country[country] = by_country.get(country, 0) + 1
    print(
        f"{len(rules)} rules at {commit[:12]} ({date}): {len(entries)} entries "
        f"({sum(1 for e in entries if e.id in CURATED_IDS)} add to curated ones), "
        f"{sum(len(n['rules']) for n in not_covered)} rules not covered",
        file=sys.stderr,
    )
    counted = sorted(by_country.items(), key=lambda x: -x[1])
    print("new entries by country: " + ", ".join(f"{c} {n}" for c, n in counted), file=sys.stderr)
    if not args.check:
        OUT.write_text(text, encoding="utf-8")
        print(f"-> {OUT.relative_to(ROOT)}", file=sys.stderr)


if __name__ == "__main__":
    main()
