"""Build iOS fixtures with known contents: Mach-O binaries, provisioning profiles and IPAs.

Written by hand (no Apple toolchain here): a thin arm64 Mach-O with the load commands and sections
techvet reads (segments, C strings, Objective-C class list with classes and method lists, symbol
table, linked libraries, LC_ENCRYPTION_INFO_64, a code signature with entitlements), wrapped in
fat files, zipped into IPAs. Knobs make the hostile shapes (wrong counts, pointers that loop).
"""

from __future__ import annotations

import datetime
import io
import plistlib
import struct
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

BASE = 0x1_0000_0000
_TEXT_AT = 0x1000


@dataclass
class MachOSpec:
    classes: dict[str, list[str]] = field(default_factory=dict)  # class -> instance methods
    selectors: list[str] = field(default_factory=list)  # extra selectors (calls)
    strings: list[str] = field(default_factory=list)
    imports: list[str] = field(default_factory=list)
    defined: list[str] = field(default_factory=list)
    libraries: list[str] = field(default_factory=list)
    file_type: int = 2  # executable (6: dylib)
    cryptid: int | None = 0  # None: no LC_ENCRYPTION_INFO_64
    entitlements: dict[str, object] | None = None
    method_count: int | None = None  # lie about each method list's count
    class_isa_self: bool = False  # every class is its own metaclass (a loop)


def _cstrings(items: list[str]) -> tuple[bytes, dict[str, int]]:
    blob = bytearray()
    at: dict[str, int] = {}
    for s in items:
        if s not in at:
            at[s] = len(blob)
            blob += s.encode() + b"\0"
    return bytes(blob), at


def _section(name: str, seg: str, addr: int, size: int, offset: int, flags: int) -> bytes:
    return struct.pack("<16s16sQQIIIIIIII", name.encode(), seg.encode(), addr, size, offset, 0, 0, 0, flags, 0, 0, 0)


def macho(spec: MachOSpec) -> bytes:
    """A thin arm64 Mach-O as ``spec`` describes it."""
    cstring, cstr_at = _cstrings(spec.strings or ["\0"])
    classname, cls_at = _cstrings(list(spec.classes))
    methods = [m for ms in spec.classes.values() for m in ms] + spec.selectors
    methname, meth_at = _cstrings(methods or ["init"])
    text = cstring + classname + methname
    cstring_off, classname_off, methname_off = (
        _TEXT_AT,
        _TEXT_AT + len(cstring),
        _TEXT_AT + len(cstring) + len(classname),
    )
    text_end = _TEXT_AT + len(text)
    data_off = (text_end + 0xFFF) & ~0xFFF
    # __DATA: class list, then per class: class_t (40), metaclass class_t (40), ro (72), meta ro (72), methods
    names = list(spec.classes)
    classlist = bytearray()
    body = bytearray()
    body_at = data_off + 8 * len(names)
    for name in names:
        class_at = body_at + len(body)
        meta_at = class_at + 40
        ro_at = meta_at + 40
        meta_ro_at = ro_at + 72
        mlist_at = meta_ro_at + 72
        ms = spec.classes[name]
        isa = class_at if spec.class_isa_self else meta_at
        body += struct.pack("<5Q", BASE + isa, 0, 0, 0, BASE + ro_at)
        body += struct.pack("<5Q", BASE + meta_at, 0, 0, 0, BASE + meta_ro_at)
        name_ptr = BASE + classname_off + cls_at[name]
        body += struct.pack("<IIII7Q", 0, 8, 8, 0, 0, name_ptr, BASE + mlist_at if ms else 0, 0, 0, 0, 0)
        body += struct.pack("<IIII7Q", 1, 8, 8, 0, 0, name_ptr, 0, 0, 0, 0, 0)
        count = len(ms) if spec.method_count is None else spec.method_count
        body += struct.pack("<II", 24, count)
        for m in ms:
            body += struct.pack("<3Q", BASE + methname_off + meth_at[m], 0, 0)
        classlist += struct.pack("<Q", BASE + class_at)
    data = bytes(classlist) + bytes(body)
    data_end = data_off + len(data)
    # __LINKEDIT: symbol table, string table, code signature
    link_off = (data_end + 0xF) & ~0xF
    strtab = bytearray(b"\0")
    nlist = bytearray()
    for name, ntype in [(n, 0x01) for n in spec.imports] + [(n, 0x0F) for n in spec.defined]:
        nlist += struct.pack("<IBBHQ", len(strtab), ntype, 1 if ntype == 0x0F else 0, 0, 0)
        strtab += name.encode() + b"\0"
    symoff = link_off
    stroff = symoff + len(nlist)
    sig_off = (stroff + len(strtab) + 0xF) & ~0xF
    signature = b""
    if spec.entitlements is not None:
        ent = plistlib.dumps(spec.entitlements)
        blob = struct.pack(">II", 0xFADE7171, 8 + len(ent)) + ent
        signature = struct.pack(">III", 0xFADE0CC0, 12 + 8 + len(blob), 1) + struct.pack(">II", 5, 20) + blob
    end = sig_off + len(signature)

    cmds = bytearray()
    ncmds = 0

    def add(cmd: bytes) -> None:
        nonlocal cmds, ncmds
        cmds += cmd
        ncmds += 1

    sects = [
        _section("__cstring", "__TEXT", BASE + cstring_off, len(cstring), cstring_off, 0x2),
        _section("__objc_classname", "__TEXT", BASE + classname_off, len(classname), classname_off, 0x2),
        _section("__objc_methname", "__TEXT", BASE + methname_off, len(methname), methname_off, 0x2),
    ]
    add(
        struct.pack(
            "<II16sQQQQiiII", 0x19, 72 + 80 * len(sects), b"__TEXT", BASE, data_off, 0, data_off, 5, 5, len(sects), 0
        )
        + b"".join(sects)
    )
    dsect = _section("__objc_classlist", "__DATA", BASE + data_off, len(classlist), data_off, 0)
    add(
        struct.pack(
            "<II16sQQQQiiII",
            0x19,
            72 + 80,
            b"__DATA",
            BASE + data_off,
            link_off - data_off,
            data_off,
            link_off - data_off,
            3,
            3,
            1,
            0,
        )
        + dsect
    )
    add(
        struct.pack(
            "<II16sQQQQiiII",
            0x19,
            72,
            b"__LINKEDIT",
            BASE + link_off,
            end - link_off,
            link_off,
            end - link_off,
            1,
            1,
            0,
            0,
        )
    )
    for lib in spec.libraries:
        name = lib.encode() + b"\0"
        size = (24 + len(name) + 7) & ~7
        add(struct.pack("<IIIIII", 0xC, size, 24, 2, 0x10000, 0x10000) + name.ljust(size - 24, b"\0"))
    if spec.cryptid is not None:
        add(struct.pack("<IIIIII", 0x2C, 24, _TEXT_AT, text_end - _TEXT_AT, spec.cryptid, 0))
    add(struct.pack("<IIIIII", 0x2, 24, symoff, len(nlist) // 16, stroff, len(strtab)))
    add(struct.pack("<IIII", 0x32, 24, 2, 0x000F0000) + struct.pack("<II", 0x00110000, 0))
    if signature:
        add(struct.pack("<IIII", 0x1D, 16, sig_off, len(signature)))
    header = struct.pack("<IiiIIIII", 0xFEEDFACF, 0x0100000C, 0, spec.file_type, ncmds, len(cmds), 0x200085, 0)
    assert len(header) + len(cmds) <= _TEXT_AT
    out = bytearray(end)
    out[: len(header)] = header
    out[len(header) : len(header) + len(cmds)] = cmds
    out[_TEXT_AT:text_end] = text
    out[data_off:data_end] = data
    out[symoff : symoff + len(nlist)] = nlist
    out[stroff : stroff + len(strtab)] = strtab
    out[sig_off:end] = signature
    return bytes(out)


def fat(*slices: tuple[int, int, bytes], claimed: int | None = None) -> bytes:
    """A fat file of (cputype, subtype, bytes) slices; ``claimed`` lies about their number."""
    header = struct.pack(">II", 0xCAFEBABE, len(slices) if claimed is None else claimed)
    at = 0x4000
    table, body = b"", b""
    for cpu, sub, data in slices:
        table += struct.pack(">iiIII", cpu, sub, at + len(body), len(data), 14)
        body += data + b"\0" * ((-len(data)) % 0x4000)
    return (header + table).ljust(at, b"\0") + body


def profile(team_id: str, team_name: str, all_devices: bool, entitlements: dict[str, object], cert_der: bytes) -> bytes:
    """An embedded.mobileprovision: a CMS SignedData whose content is the profile's plist."""
    from asn1crypto import algos, cms, x509

    doc = {
        "AppIDName": f"{team_name} app",
        "Name": f"{team_name} in-house",
        "TeamIdentifier": [team_id],
        "TeamName": team_name,
        "CreationDate": datetime.datetime(2026, 1, 1),
        "ExpirationDate": datetime.datetime(2027, 1, 1),
        "Entitlements": entitlements,
        "DeveloperCertificates": [cert_der],
        "Version": 1,
    }
    if all_devices:
        doc["ProvisionsAllDevices"] = True
    else:
        doc["ProvisionedDevices"] = ["00008030-000000000000001E", "00008030-000000000000002E"]
    signed = cms.SignedData(
        {
            "version": "v1",
            "digest_algorithms": [algos.DigestAlgorithm({"algorithm": "sha256"})],
            "encap_content_info": {"content_type": "data", "content": plistlib.dumps(doc)},
            "certificates": [x509.Certificate.load(cert_der)],
            "signer_infos": [],
        }
    )
    return cms.ContentInfo({"content_type": "signed_data", "content": signed}).dump()


def certificate(common_name: str, organization: str, unit: str) -> bytes:
    """A self-signed certificate (DER) naming a signer as Apple's do: CN, OU (team id), O, C."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.derive_private_key(0x5EED, ec.SECP256R1())  # fixed key: the same certificate every build
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
            x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, unit),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, organization),
            x509.NameAttribute(NameOID.COUNTRY_NAME, "US"),
        ]
    )
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(datetime.datetime(2026, 1, 1))
        .not_valid_after(datetime.datetime(2027, 1, 1))
        .sign(key, hashes.SHA256())
    )
    from cryptography.hazmat.primitives.serialization import Encoding

    return cert.public_bytes(Encoding.DER)


def ipa(path: Path, name: str, info: dict[str, object], files: dict[str, bytes]) -> Path:
    """An IPA: ``Payload/<name>.app/`` with ``Info.plist`` and ``files`` (paths inside the .app)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as z:
        root = f"Payload/{name}.app/"
        z.writestr(root + "Info.plist", plistlib.dumps(info, fmt=plistlib.FMT_BINARY))
        for inner, data in files.items():
            z.writestr(root + inner, data)
    path.write_bytes(buffer.getvalue())
    return path


def info(bundle_id: str, name: str, executable: str, **extra: object) -> dict[str, object]:
    return {
        "CFBundleIdentifier": bundle_id,
        "CFBundleDisplayName": name,
        "CFBundleExecutable": executable,
        "CFBundleShortVersionString": "1.0",
        "CFBundleVersion": "7",
        "MinimumOSVersion": "15.0",
        "DTSDKName": "iphoneos17.0",
        **extra,
    }


def _framework(name: str, spec: MachOSpec, bundle_id: str) -> dict[str, bytes]:
    return {
        f"Frameworks/{name}.framework/Info.plist": plistlib.dumps(info(bundle_id, name, name)),
        f"Frameworks/{name}.framework/{name}": macho(spec),
    }


def sdk_app(path: Path) -> Path:
    """An app whose every expected finding is written here: JPush and Amap linked into the main
    binary (classes), Bugly as a framework, an uncatalogued framework, location with its purpose
    string, the camera's purpose string alone, IDFA and IDFV, URL-scheme probing, a jailbreak check,
    ptrace, an ATS exception, an enterprise profile."""
    main = MachOSpec(
        classes={
            "AppDelegate": ["application:didFinishLaunchingWithOptions:"],
            "JPUSHService": ["setupWithOption:"],
            "AMapLocationManager": ["startUpdatingLocation"],
        },
        selectors=["advertisingIdentifier", "identifierForVendor", "canOpenURL:"],
        strings=[
            "http://log.fixture-tracker.cn/collect?id=",
            "https://restapi.amap.com/v3/geocode",
            "/Applications/Cydia.app",
        ],
        imports=["_OBJC_CLASS_$_CLLocationManager", "_OBJC_CLASS_$_ASIdentifierManager", "_ptrace", "_objc_msgSend"],
        libraries=[
            "/System/Library/Frameworks/CoreLocation.framework/CoreLocation",
            "/System/Library/Frameworks/AdSupport.framework/AdSupport",
            "/usr/lib/libobjc.A.dylib",
            "@rpath/Bugly.framework/Bugly",
            "@rpath/Mystery.framework/Mystery",
        ],
        entitlements={"application-identifier": "FIXTURE12.org.example.fixture", "get-task-allow": False},
    )
    cert = certificate("iPhone Distribution: Fixture Maker Co", "Fixture Maker Co", "FIXTURE12")
    plist = info(
        "org.example.fixture",
        "Fixture SDKs",
        "Fixture",
        NSLocationWhenInUseUsageDescription="Shows nearby places",
        NSCameraUsageDescription="Scans codes",
        LSApplicationQueriesSchemes=["weixin", "mqq", "alipay"],
        NSAppTransportSecurity={
            "NSExceptionDomains": {
                "fixture-tracker.cn": {"NSExceptionAllowsInsecureHTTPLoads": True, "NSIncludesSubdomains": True}
            }
        },
    )
    return ipa(
        path,
        "Fixture",
        plist,
        {
            "Fixture": macho(main),
            "embedded.mobileprovision": profile("FIXTURE12", "Fixture Maker Co", True, {"get-task-allow": False}, cert),
            **_framework(
                "Bugly",
                MachOSpec(
                    classes={"Bugly": ["startWithAppId:"], "BuglyConfig": []},
                    strings=["https://rqd.uu.qq.com/rqd/sync"],
                    file_type=6,
                    cryptid=None,
                ),
                "com.tencent.Bugly",
            ),
            **_framework(
                "Mystery",
                MachOSpec(
                    classes={"MYSTracker": ["send"]},
                    strings=["http://collect.mysterysdk.cn/v1/e"],
                    file_type=6,
                    cryptid=None,
                ),
                "cn.mysterysdk.Mystery",
            ),
            # the maker's own framework (its bundle id shares the app's), and an open-source one
            **_framework(
                "FixtureCore", MachOSpec(classes={"FXCStore": []}, file_type=6, cryptid=None), "org.example.core"
            ),
            **_framework(
                "Alamofire", MachOSpec(classes={"Session": []}, file_type=6, cryptid=None), "org.alamofire.Alamofire"
            ),
            "AMap.bundle/AMap.png": b"\x89PNG",
        },
    )


def encrypted_app(path: Path) -> Path:
    """An App Store build (no profile) whose main binary FairPlay encrypted (cryptid 1): its classes
    and strings sit in the encrypted range, its imports and linked libraries do not; its arm64 slice
    is inside a fat file beside an armv7 one."""
    spec = MachOSpec(
        classes={"JPUSHService": ["setupWithOption:"], "AppDelegate": []},
        strings=["http://hidden.fixture-tracker.cn/x"],
        imports=["_OBJC_CLASS_$_CLLocationManager"],
        libraries=["/System/Library/Frameworks/CoreLocation.framework/CoreLocation"],
        cryptid=1,
    )
    thin = macho(spec)
    binary = fat((12, 9, thin), (0x0100000C, 0, thin))
    plist = info("org.example.encrypted", "Fixture Encrypted", "Encrypted", NSLocationWhenInUseUsageDescription="Maps")
    return ipa(path, "Encrypted", plist, {"Encrypted": binary})
