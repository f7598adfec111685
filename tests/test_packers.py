"""Packers and protectors (TV501) and runtime protection SDKs (TV507), from the hand-curated entries
and those built from APKiD's rules (knowledge/data/packers_apkid.json, tools/build_packers.py).

Every packer gets a fixture built here from its own signatures; the Chinese ones also get one with
the layout their packed apps have. Precision: a clean app, the corpus apps labelled without a packer,
platform and library packages, ordinary file names and LibChecker's library labels must not meet a
packer signature, and a name too common alone counts only in its group.
"""

from __future__ import annotations

import csv
import importlib.util
import json
import os
import re
import shutil
import sys
import time
import zipfile
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import yaml

import techvet
from techvet.app.reader import read_app
from techvet.detect.antianalysis import packer_findings
from techvet.errors import KnowledgeError
from techvet.knowledge import DATA_DIR, _load, load
from techvet.knowledge.packers import STRONG, Packer, PackerIndex, load_packers
from tests.conftest import CORPUS, TRUTH, fixture_app, needs_truth
from tests.packer_fixtures import classes_dex, entry_for, example_of, packed_apk

ROOT = Path(__file__).resolve().parents[1]
KB = load()
PACKERS: dict[str, Packer] = {p.id: p for p in KB.packers}
APKID = yaml.safe_load((DATA_DIR / "packers_apkid.json").read_text(encoding="utf-8"))


def subjects(path: Path) -> dict[str, set[str]]:
    """Packer ids the scan reports, by rule (TV501, TV507)."""
    result = techvet.scan(path)
    assert result.errors == []
    out: dict[str, set[str]] = {"TV501": set(), "TV507": set()}
    for f in result.findings:
        if f.rule in out and f.subject:
            out[f.rule].add(f.subject)
    return out


def rule_of(packer: Packer) -> str:
    return "TV507" if packer.kind == "sdk" else "TV501"


def class_example(signature: str) -> str:
    """A class descriptor a class signature (a descriptor or a prefix of one) matches."""
    if signature.endswith(";"):
        return signature
    return signature + ("Stub;" if signature.endswith("/") else "Stub;")


# ------------------------------------------------------------------ Chinese packers, as shipped
# The files, classes and application class each leaves in a packed app (from public analyses of
# packed apps and APKiD's rules), beside an ordinary app's own files.
ORDINARY = ["lib/arm64-v8a/libc++_shared.so", "assets/config.json", "res/drawable/icon.png", "META-INF/CERT.RSA"]
CHINESE: dict[str, dict[str, Any]] = {
    "jiagu360": {
        "files": ["assets/libjiagu.so", "assets/libjiagu_a64.so", "assets/libjiagu_x86.so"],
        "classes": ["Lcom/stub/StubApp;"],
        "application": "com.stub.StubApp",
    },
    "tencent-legu": {
        "files": ["lib/armeabi-v7a/libshella-3.0.0.0.so", "assets/0OO00l111l1l", "assets/o0oooOO0ooOo.dat"],
        "classes": ["Lcom/tencent/StubShell/TxAppEntry;"],
        "application": "com.tencent.StubShell.TxAppEntry",
    },
    "bangcle-secneo": {
        "files": ["assets/secData0.jar", "lib/armeabi/libSecShell.so"],
        "classes": ["Lcom/SecShell/SecShell/ApplicationWrapper;"],
        "application": "com.SecShell.SecShell.ApplicationWrapper",
    },
    "ijiami": {"files": ["assets/ijiami.ajm", "assets/IJMDal.Data", "lib/armeabi/libexecmain.so"]},
    "baidu-protect": {"files": ["lib/armeabi/libbaiduprotect.so", "assets/baiduprotect1.jar"]},
    "alibaba-protect": {
        "files": ["lib/armeabi/libmobisec.so", "lib/arm64-v8a/libalisecuritysdk.so"],
        "classes": ["Lcom/ali/mobisecenhance/Init;"],
    },
    "netease-yidun": {
        "files": ["lib/arm64-v8a/libnesec.so", "assets/nedig.properties"],
        "classes": ["Lcom/netease/nis/wrapper/Entry;", "Lcom/netease/nis/wrapper/MyJni;"],
    },
    "apkprotect": {"files": ["lib/armeabi/libAPKProtect.so", "assets/apkprotect.com/key.dat"]},
    "dingxiang": {
        "files": ["lib/arm64-v8a/libsys_misc.so", "assets/dsnstub000.vd"],
        "classes": ["Lcom/security/inner/stub000/a;", "Lpnf/this/object/does/not/Exist;"],
    },
    "naga": {"files": ["lib/armeabi/libddog.so", "lib/armeabi/libchaosvmp.so", "assets/maindata/fake_classes.dex"]},
    "kiwisec": {
        "files": ["lib/armeabi-v7a/libKwProtectSDK.so", "lib/armeabi-v7a/libkwsdataenc.so"],
        "classes": ["Lcom/kiwivm/security/StubApplication;"],
        "application": "com.kiwivm.security.StubApplication",
    },
    "pangxie": {"files": ["lib/armeabi/libnsecure.so"], "application": "com.merry.wapper.WapperApplication"},
    "nqshield": {"files": ["lib/armeabi/libnqshield.so"]},
    "tongfu-shield": {
        "files": ["lib/armeabi-v7a/libegis.so", "assets/libegis.a", "assets/mode"],
        "classes": ["Lcom/payegis/FirstApplication;"],
    },
    "nesun": {"files": ["lib/armeabi-v7a/libzprotect.so"], "classes": ["Lcom/nesun/stub/ZAP;"]},
    "kiro": {"files": ["lib/armeabi/libkiroro.so", "assets/sbox"]},
    "virbox": {"files": ["lib/arm64-v8a/libv++_64.so", "lib/armeabi-v7a/libv++.so"], "classes": ["Lvirbox/StubApp;"]},
    "manxi": {"files": ["assets/mxsafe.data", "assets/mxsafe.jar"], "classes": ["Lcom/manxi/shell/MXApplication;"]},
    "venustech": {"files": ["lib/arm64-v8a/libvenSec.so"]},
    "unicom-loader": {"files": ["assets/libunicomsdk.jar", "assets/libdecrypt.jar"]},
    "msa-sdk": {"files": ["lib/arm64-v8a/libmsaoaidsec.so"]},
    "oppo-protect": {"files": ["lib/arm64-v8a/libOPPOProtect2019.so"]},
    "xiaomi-xsof": {"strings": ["com.xiaomi.security.xsof.ISecurityService"]},
}


@pytest.mark.parametrize("pid", sorted(CHINESE))
def test_chinese_packer_as_shipped(pid: str, tmp_path: Path) -> None:
    layout = CHINESE[pid]
    path = packed_apk(
        tmp_path / f"{pid}.apk",
        files=[*layout.get("files", []), *ORDINARY],
        classes=[*layout.get("classes", []), "Lorg/example/packed/MainActivity;"],
        strings=layout.get("strings", []),
        application=layout.get("application"),
    )
    found = subjects(path)
    packer = PACKERS[pid]
    assert packer.country == "CN"
    assert found[rule_of(packer)] == {pid}
    assert found["TV501" if rule_of(packer) == "TV507" else "TV507"] == set()


def test_the_chinese_packers_the_issue_names_are_all_there() -> None:
    wanted = {
        "jiagu360", "tencent-legu", "bangcle-secneo", "ijiami", "baidu-protect", "alibaba-protect", "netease-yidun",
        "apkprotect", "dingxiang", "naga", "kiwisec", "pangxie", "nqshield", "tongfu-shield", "nesun", "kiro",
        "virbox", "manxi", "venustech", "haiyun", "unicom-loader", "msa-sdk",
    }  # fmt: skip
    assert wanted <= {p.id for p in KB.packers if p.country == "CN"}
    assert len([p for p in KB.packers if p.country == "CN"]) >= 25


def test_a_tencent_enterprise_build_is_legu(tmp_path: Path) -> None:
    """Tencent's enterprise protection (libshell-superv*.2019.so, dexMethod assets): APKiD's facts
    added to the curated Legu entry, under its id."""
    path = packed_apk(
        tmp_path / "tencent.apk",
        files=["lib/arm64-v8a/libshell-supervbasic.2019.so", "assets/dexMethod_00oo1l1l.dat"],
    )
    assert subjects(path)["TV501"] == {"tencent-legu"}


# ------------------------------------------------------------------ every packer, from its own data
OVERLAP: dict[str, set[str]] = {
    # DexProtector's encrypted classes.dex.dat is also what its AIDE edition writes
    "dexprotector-aide": {"dexprotector"},
}


def _first_signals(packer: Packer) -> dict[str, Any]:
    if packer.files:
        return {"files": [entry_for(packer.files[0])]}
    if packer.classes:
        return {"classes": [class_example(packer.classes[0])]}
    if packer.strings:
        return {"strings": [packer.strings[0] + "x"]}
    if packer.application:
        return {"application": packer.application[0]}
    group = packer.weak[0]
    return {
        "files": [entry_for(f) for f in group.files][: group.min_count],
        "classes": [class_example(c) for c in group.classes][: max(0, group.min_count - len(group.files))],
        "strings": list(group.strings)[: max(0, group.min_count - len(group.files) - len(group.classes))],
    }


@pytest.mark.parametrize("pid", [p.id for p in KB.packers if p.files or p.classes or p.strings or p.weak])
def test_every_packer_is_found_by_its_own_signature(pid: str, tmp_path: Path) -> None:
    """A fixture per packer: its first signature (or its first weak group, at its minimum) in an
    otherwise ordinary app names that packer, under TV501 (TV507 for an SDK), and no other."""
    packer = PACKERS[pid]
    signals = _first_signals(packer)
    path = packed_apk(tmp_path / "p.apk", files=[*signals.pop("files", []), *ORDINARY], **signals)
    found = subjects(path)
    assert pid in found[rule_of(packer)]
    assert (found["TV501"] | found["TV507"]) - {pid} <= OVERLAP.get(pid, set())


@pytest.mark.parametrize("pid", [p.id for p in KB.packers if p.classes or p.strings])
def test_every_packer_is_found_by_its_code_alone(pid: str, tmp_path: Path) -> None:
    """The classes its stub defines, or the strings its code holds, without any of its files."""
    packer = PACKERS[pid]
    path = packed_apk(
        tmp_path / "code.apk",
        files=ORDINARY,
        classes=[class_example(c) for c in packer.classes],
        strings=[s + "x" for s in packer.strings],
    )
    assert pid in subjects(path)[rule_of(packer)]


def test_every_file_signature_alone_names_its_packer() -> None:
    """Each strong file signature, and each fact of a weak group, is answered by the index for its
    own packer (whatever table it was filed in: name, path, prefix or pattern)."""
    index = KB.packer_index
    for n, packer in enumerate(KB.packers):
        groups = [(STRONG, packer.files)] + [(g, w.files) for g, w in enumerate(packer.weak)]
        for group, patterns in groups:
            for k, pattern in enumerate(patterns):
                entry = entry_for(pattern)
                assert re.search(pattern, entry), (pattern, entry)
                hits = {(s.packer, s.group, s.fact) for s, _ in index.files_matching([entry])}
                assert (n, group, k) in hits, (packer.id, pattern, entry)
                nested = {(s.packer, s.group, s.fact) for s, _ in index.files_matching([f"base.apk!{entry}"])}
                assert (n, group, k) in nested


def test_a_weak_group_counts_only_at_its_minimum(tmp_path: Path) -> None:
    """freeRASP's libsecurity.so and libpolarssl.so: one alone names nothing, both name freeRASP
    (firm, not certain); DingXiang's assets likewise."""
    one = packed_apk(tmp_path / "one.apk", files=["lib/arm64-v8a/libsecurity.so", *ORDINARY])
    assert subjects(one) == {"TV501": set(), "TV507": set()}
    both = packed_apk(tmp_path / "both.apk", files=["lib/arm64-v8a/libsecurity.so", "lib/arm64-v8a/libpolarssl.so"])
    result = techvet.scan(both)
    (rasp,) = [f for f in result.findings if f.rule == "TV507"]
    assert rasp.subject == "freerasp" and rasp.confidence == "firm"
    assert len(rasp.evidence) == 2
    dx = packed_apk(tmp_path / "dx.apk", files=["lib/arm64-v8a/libsys_misc.so", "assets/csn0.data"])
    assert subjects(dx)["TV501"] == {"dingxiang"}
    for n, packer in enumerate(KB.packers):
        for g, group in enumerate(packer.weak):
            facts = [entry_for(f) for f in group.files]
            short = KB.packer_index.files_matching(facts[: group.min_count - 1])
            assert len({s.fact for s, _ in short if (s.packer, s.group) == (n, g)}) < group.min_count


# ------------------------------------------------------------------ precision
COMMON_ENTRIES = [
    "lib/arm64-v8a/libc++_shared.so", "lib/arm64-v8a/libflutter.so", "lib/arm64-v8a/libapp.so",
    "lib/armeabi-v7a/libunity.so", "lib/arm64-v8a/libil2cpp.so", "lib/arm64-v8a/libmain.so",
    "lib/arm64-v8a/libsqlcipher.so", "lib/arm64-v8a/libcrashlytics.so", "lib/arm64-v8a/libloader.so",
    "lib/arm64-v8a/libsecurity.so", "lib/arm64-v8a/libsettings.so",
    "lib/arm64-v8a/libmd.so", "lib/arm64-v8a/libsandhook.so", "lib/arm64-v8a/libxgVipSecurity.so",
    "assets/bgm.mp3", "assets/sound/click.mp3", "assets/config.dat", "assets/data.dat", "assets/classes.zip",
    "assets/fonts/Roboto-Regular.ttf", "assets/www/index.html", "assets/flutter_assets/AssetManifest.json",
    "assets/dexopt/baseline.prof", "assets/application.properties", "assets/js/startup.js", "assets/tid",
    "assets/high_resolution.png", "assets/signature", "assets/firmware", "assets/res.zip", "assets/mode",
    "classes.jar", "assets/plugin/classes.jar", "META-INF/MANIFEST.MF", "kotlin/kotlin.kotlin_builtins",
    "res/xml/network_security_config.xml", "resources.arsc", "classes2.dex",
]  # fmt: skip


def test_no_packer_claims_ordinary_files_or_the_platforms_code(tmp_path: Path) -> None:
    """Names ordinary apps ship, each a common one some packer's rule mentions, and the platform's
    and libraries' classes: none names a packer, alone or all together."""
    for entry in COMMON_ENTRIES:
        assert [s for s, _ in KB.packer_index.files_matching([entry]) if s.group == STRONG] == [], entry
    path = packed_apk(
        tmp_path / "ordinary.apk",
        files=[e for e in COMMON_ENTRIES if "security" not in e and "polarssl" not in e],
        classes=["Landroid/app/Application;", "Ljava/lang/ClassLoader;", "Lcom/google/gson/Gson;"],
        strings=["getClass", "getDeclaredMethod", "invoke", "attachBaseContext", "libc.so", "JNI_OnLoad"],
    )
    assert subjects(path) == {"TV501": set(), "TV507": set()}


FRAMEWORK = ("Landroid/", "Landroidx/", "Ljava/", "Ljavax/", "Lkotlin/", "Ldalvik/", "Lcom/google/", "Lorg/apache/")


def test_no_class_signature_is_a_platform_or_library_package() -> None:
    for packer in KB.packers:
        for desc in (*packer.classes, *(c for w in packer.weak for c in w.classes)):
            assert desc.startswith("L") and "/" in desc, (packer.id, desc)
            assert not desc.startswith(FRAMEWORK), (packer.id, desc)
            package = desc[1:].rpartition("/")[0].replace("/", ".")
            owner = KB.package_owner(package) if hasattr(KB, "package_owner") else None
            assert owner is None or owner[0] != "library", (packer.id, desc, owner)


def test_a_class_named_in_code_but_not_defined_is_no_packer(tmp_path: Path) -> None:
    """An app that lists packers' stub classes (an anti-repackaging check) defines none of them."""
    path = packed_apk(
        tmp_path / "checker.apk",
        files=ORDINARY,
        strings=["Lcom/stub/StubApp;", "Lcom/tencent/StubShell/TxAppEntry;", "Lcom/kiwivm/security/StubApplication;"],
    )
    assert subjects(path) == {"TV501": set(), "TV507": set()}


LIBCHECKER_PACKERS = {"360 加固", "梆梆安全", "爱加密", "百度应用加固", "网易易盾", "阿里聚安全"}
LIBCHECKER_PACKERS |= {"MSA SDK", "EasyProtector"}


def test_libchecker_agrees_on_every_library_a_packer_claims() -> None:
    """A native library LibChecker labels (native_libs.json, Apache-2.0) is claimed by a packer only
    when LibChecker too calls it a packer or protector's (not Tencent's push SDK's, say)."""
    libs = json.loads((DATA_DIR / "native_libs.json").read_text(encoding="utf-8"))["libraries"]
    claimed = 0
    for name, facts in libs.items():
        hits = [s for s, _ in KB.packer_index.files_matching([f"lib/arm64-v8a/{name}"]) if s.group == STRONG]
        if hits:
            claimed += 1
            assert facts["label"] in LIBCHECKER_PACKERS, (name, facts, KB.packers[hits[0].packer].id)
    assert claimed >= 20


def test_the_clean_app_has_no_packer() -> None:
    found = subjects(fixture_app("clean_app.apk"))
    assert found == {"TV501": set(), "TV507": set()}


def _corpus_apps_without_packer() -> list[Path]:
    with TRUTH.open(encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh, delimiter="\t"))
    return [CORPUS / r["file"] for r in rows if r.get("packers") == "none" and (CORPUS / r["file"]).is_file()]


@needs_truth
def test_no_signature_meets_the_corpus_apps_labelled_without_a_packer() -> None:
    apps = _corpus_apps_without_packer()
    assert len(apps) >= 20
    for path in apps:
        app = read_app(path)
        assert KB.packer_index.files_matching(app.entries) == [], path.name
        assert packer_findings(app, KB) == [], path.name


# ------------------------------------------------------------------ the data file and its loader
def test_the_built_file_says_where_it_comes_from() -> None:
    assert APKID["source"].startswith("APKiD") and re.fullmatch(r"[0-9a-f]{40}", APKID["apkid_commit"])
    assert "GPL-3.0" in APKID["licence"] and "facts" in APKID["licence"]
    assert KB.sources["packers_apkid.json"][1] == str(APKID["as_of"])
    countries = [e.get("country") for e in APKID["packers"] if not e.get("curated")]
    assert all(c is None or re.fullmatch(r"[A-Z]{2}", c) for c in countries)
    first_other = next(i for i, c in enumerate(countries) if c != "CN")
    assert all(c != "CN" for c in countries[first_other:]), "Chinese entries come first"
    for entry in APKID["packers"]:
        assert entry["apkid_rules"]
        kinds = ("packer", "protector", "sdk")
        assert entry.get("curated") or (entry["name"] and entry["vendor"] and entry["kind"] in kinds)
        for item in entry.get("not_taken", []):
            assert item["why"] and item["facts"]


def test_every_apkid_rule_is_accounted_for_once() -> None:
    """A rule is in one entry's rules or in not_covered with a reason, never both (rules that share
    a name across APKiD's apk, dex and elf files are one product)."""
    taken = [r for e in APKID["packers"] for r in e["apkid_rules"]]
    skipped = [r for n in APKID["not_covered"] for r in n["rules"]]
    assert len(taken) == len(set(taken))
    assert not set(taken) & set(skipped)
    assert all(n["why"] for n in APKID["not_covered"])
    assert len(set(taken) | set(skipped)) >= 250


def test_curated_entries_keep_their_ids_names_and_precedence() -> None:
    curated = yaml.safe_load((DATA_DIR / "antianalysis.yaml").read_text(encoding="utf-8"))["packers"]
    ids = [p["id"] for p in curated]
    assert [p.id for p in KB.packers[: len(ids)]] == ids
    for p in curated:
        packer = PACKERS[p["id"]]
        assert (packer.name, packer.country) == (p["name"], p.get("country"))
        assert packer.files[: len(p.get("files", []))] == tuple(p.get("files", []))
    assert {"tencent-legu", "jiagu360", "bangcle-secneo", "ijiami", "baidu-protect", "dexguard"} <= set(ids)


def _copy_with(tmp_path: Path, name: str, edit: Any) -> Path:
    copy = tmp_path / "data"
    shutil.copytree(DATA_DIR, copy)
    doc = yaml.safe_load((copy / name).read_text(encoding="utf-8"))  # YAML reads JSON too
    edit(doc)
    dumped = json.dumps(doc) if name.endswith(".json") else yaml.safe_dump(doc, allow_unicode=True)
    (copy / name).write_text(dumped, encoding="utf-8")
    return copy


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d["packers"][-1].update(files=["libfoo\\.so$"]), "not anchored"),
        (lambda d: d["packers"][-1].update(files=["^assets/(a+)+$"]), "unbounded"),
        (lambda d: d["packers"][-1].update(files=["^assets/[a-z]{2,}$"]), "unbounded"),
        (lambda d: d["packers"][-1].update(kind="virus"), "kind"),
        (lambda d: d["packers"][-1].update(classes=["com.example.Stub"]), "descriptor"),
        (lambda d: d["packers"][-1].update(strings=[""]), "every app"),
        (lambda d: d["packers"][-1].update(weak=[{"rule": "x", "min": 3, "files": ["^assets/a$"]}]), "min 3"),
        (lambda d: d["packers"].append({**d["packers"][-1]}), "twice"),
    ],
)
def test_bad_packer_data_fails_at_load_naming_the_file(tmp_path: Path, change: Any, message: str) -> None:
    with pytest.raises(KnowledgeError, match=f"packers_apkid.json.*{message}"):
        _load(_copy_with(tmp_path, "packers_apkid.json", change))


def test_an_apkid_entry_marked_curated_needs_its_curated_entry() -> None:
    with pytest.raises(ValueError, match="antianalysis.yaml has no such packer"):
        load_packers({"packers": []}, {"packers": [{"id": "jiagu360", "curated": True, "files": []}]})


def test_hostile_entry_names_stay_fast() -> None:
    """Twenty thousand entries, some 60,000 characters long and shaped to tempt backtracking, are
    matched in well under a second: every pattern is anchored and bounded."""
    index: PackerIndex = KB.packer_index
    nasty = ["assets/" + "a." * 30000 + "so", "lib/arm64-v8a/lib" + "x" * 60000 + ".so", "assets/" + "/" * 60000]
    entries = nasty * 50 + [f"assets/dir{n}/file{n}.dat" for n in range(20000)]
    started = time.perf_counter()
    index.files_matching(entries)
    assert time.perf_counter() - started < 2.0


def test_a_long_run_of_packer_like_strings_stays_fast(tmp_path: Path) -> None:
    """Fifty thousand strings under a packer's class prefix, none a defined class: a bounded look
    at the run, no hit."""
    many = [f"Lcom/inca/security/x{n:05d};" for n in range(50000)]
    many += [f"com.xiaomi.security.xsof.s{n}" for n in range(9)]
    path = tmp_path / "many.apk"
    packed_apk(path, files=ORDINARY)
    with zipfile.ZipFile(path, "a") as apk:
        apk.writestr("classes2.dex", classes_dex([], many))
    app = read_app(path)
    started = time.perf_counter()
    found = {f.subject for f in packer_findings(app, KB)}
    assert time.perf_counter() - started < 1.0
    assert found == {"xiaomi-xsof"}  # a string signature is a string; a class one needs the class


def test_look_alike_strings_cannot_hide_a_defined_stub_class(tmp_path: Path) -> None:
    """Strings that sort before the real stub class (``Lcom/stub/StubApp0...``) are not classes;
    the stub the app defines is still found however many of them there are."""
    decoys = [f"Lcom/stub/StubApp{n:04d}" for n in range(500)]
    path = tmp_path / "decoys.apk"
    packed_apk(path, files=ORDINARY)
    with zipfile.ZipFile(path, "a") as apk:
        apk.writestr("classes2.dex", classes_dex(["Lcom/stub/StubApp;"], decoys))
    found = {f.subject for f in packer_findings(read_app(path), KB)}
    assert "jiagu360" in found


def test_examples_are_spelled_from_the_patterns() -> None:
    assert example_of(r"(^|/)libshell[a-z]?(-ver)?[^/]*\.so$") == "libshell.so"
    assert entry_for(r"^assets/appguard/") == "assets/appguard/x"
    assert classes_dex(["La/b/C;"], ["s"]).startswith(b"dex\n035\0")


# ------------------------------------------------------------------ the build tool
def _tool() -> ModuleType:
    spec = importlib.util.spec_from_file_location("build_packers", ROOT / "tools" / "build_packers.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules["build_packers"] = module
    spec.loader.exec_module(module)
    return module


YARA = r'''
include "common.yara"
rule demo_apk : packer
{
  meta:
    description = "Demo"   // a comment
    url = "https://demo.example/" /* another */
  strings:
    $a = "assets/demo.dat"
    $b = /lib\/(arm.*|x86.*)\/libdemo\.so/
    $c = "libloader.so"
    $d = "assets/tid"
  condition:
    is_apk and 2 of them
}
rule demo_dex : packer
{
  strings:
    // Lcom/demo/Stub;
    $s = { 00 0F 4C 63 6F 6D 2F 64 65 6D 6F 2F 53 74 75 62 3B 00 }
    $p = { 00 ?? 4C 63 6F 6D 2F 64 65 6D 6F 2F (41 | 42) }
    $j = { 00 50 4C [32] 2F 63 6F 6D 2F 78 79 7A 7A 3B 00 }
    $code = { 6e 10 ?? ?? 08 00 0a 00 }
  condition:
    is_dex and any of them
}
'''


def test_the_tool_reads_facts_not_rule_text() -> None:
    tool = _tool()
    apk, dex = tool.parse_yara(YARA, "apk/packers.yara")
    assert (apk.name, apk.meta["description"], apk.meta["url"]) == ("demo_apk", "Demo", "https://demo.example/")
    assert [s.kind for s in apk.strings] == ["text", "regex", "text", "text"]
    assert tool.required(apk.condition, 4) == 2
    facts = {f.source: f for f in tool.facts_of(apk)}
    assert facts["assets/demo.dat"].value == r"^assets/demo\.dat$"
    assert facts[r"lib\/(arm.*|x86.*)\/libdemo\.so"].value == r"(^|/)libdemo\.so$"
    assert tool.judge(facts["libloader.so"])[0] == "weak"
    texts = tool._hex_strings(dex.strings[0].value) + tool._hex_strings(dex.strings[1].value)
    assert texts == ["Lcom/demo/Stub;", "Lcom/demo/A", "Lcom/demo/B"]
    assert tool._hex_strings(dex.strings[2].value) == []  # the tail after a jump is no name
    assert tool._hex_strings(dex.strings[3].value) == []  # instructions


def test_the_tool_refuses_a_rule_it_has_no_line_for() -> None:
    tool = _tool()
    rules = tool.parse_yara(YARA.replace("demo_apk", "brand_new_packer"), "apk/packers.yara")[:1]
    with pytest.raises(SystemExit, match="brand_new_packer"):
        tool.build(rules, tool.Curated({"packers": []}))


@pytest.mark.skipif(not os.environ.get("APKID_REPO"), reason="set APKID_REPO to an APKiD git repository")
def test_the_built_file_is_what_the_tool_makes_from_apkid() -> None:
    tool = _tool()
    repo = Path(os.environ["APKID_REPO"])
    rules, commit, date = tool.read_rules(repo, APKID["apkid_commit"])
    curated = tool.Curated(yaml.safe_load((DATA_DIR / "antianalysis.yaml").read_text(encoding="utf-8")))
    entries, not_covered = tool.build(rules, curated)
    made = yaml.safe_load(tool.as_document(entries, not_covered, commit, date))
    assert {k: v for k, v in made.items() if k != "as_of"} == {k: v for k, v in APKID.items() if k != "as_of"}
