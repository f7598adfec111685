#!/usr/bin/env python3
"""Coverage-guided fuzzing of every reader techvet has, with atheris (libFuzzer for Python).

    python tools/fuzz.py --list
    python tools/fuzz.py TARGET [--runs N] [--max-time SECONDS]      one reader, in this process
    python tools/fuzz.py --all [--runs N] [--max-time SECONDS]       every reader, one process each

Each target feeds mutated bytes to one reader through its public entry point, seeded from the
fixtures (tests/fixtures) and, when present, the shared reproducers (../shared/fuzz/reproducers).
An input is a crash when the reader raises anything but techvet's own errors (TechvetError: the
one-line refusals users see), when a detector fails inside a scan (a hostile app that switches
detection off), when it runs over libFuzzer's time limit (20 s) or when it alone raises the
process's peak memory by more than 500 MB. Each crash is
saved under fuzz/crashes/<target>-<hash> to become a reproducer and a regression test.

Readers that take a path get the bytes through a file in /dev/shm (memory, no disk writes that
outlive the run); every file is removed after the input. Nothing here runs app code: the readers
parse bytes.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import resource
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures"
SHARED = ROOT.parent / "shared" / "fuzz" / "reproducers"
CRASHES = ROOT / "fuzz" / "crashes"
# The 500 MB bound is per input: libFuzzer's -rss_limit_mb measures the whole fuzzing process,
# which grows by itself over 100,000 instrumented runs (seen: 121 MB to 575 MB on the XLSX reader,
# whose runs without atheris stay at 42 MB), so it blamed whichever input came last. Each input's
# own growth of the peak is checked instead; the process limit only stops a runaway.
INPUT_MB = 500
PROCESS_MB = 3072
SCRATCH = Path("/dev/shm") if Path("/dev/shm").is_dir() else Path(tempfile.gettempdir())

# target -> (file suffix the reader expects, seed globs under tests/fixtures and the reproducers)
TARGETS: dict[str, tuple[str, tuple[str, ...]]] = {
    "apk": (".apk", ("apps/*.apk", "*.apk")),
    "zip": (".zip", ()),
    "signing": (".bin", ()),
    "bundle": (".apks", ("apps/*.apks", "*.apks", "*.xapk")),
    "dex": (".dex", ("*.dex",)),
    "axml": (".bin", ()),
    "arsc": (".bin", ()),
    "pcap": (".pcap", ("captures/*.pcap", "*.pcap")),
    "pcapng": (".pcapng", ("captures/*.pcapng", "*.pcapng")),
    "har": (".har", ("captures/*.har", "*.har")),
    "mitm": (".mitm", ("captures/*.mitm", "*.mitm")),
    "fleet-csv": (".csv", ("../../samples/*.csv", "fleet*.csv")),
    "screen-csv": (".csv", ("screen*.csv",)),
    "xlsx": (".xlsx", ("*.xlsx",)),
    "json-table": (".json", ()),
    "app-policy": (".yaml", ("apppolicy*.yaml", "policy*.yaml")),
    "fleet-policy": (".yaml", ("policy*.yaml",)),
    "stix": (".stix2", ("iocs/*.stix2", "*.stix2")),
    "echap": (".yaml", ("iocs/*.yaml",)),
    "ipa": (".ipa", ("../../samples/*.ipa", "*.ipa")),
    "macho": (".bin", ()),
}


_READER_MODULES = (
    "techvet.scan",
    "techvet.app.reader",
    "techvet.app.archive",
    "techvet.app.axml",
    "techvet.app.resources",
    "techvet.app.dex",
    "techvet.app.code",
    "techvet.app.certs",
    "techvet.app.manifest",
    "techvet.detect",
    "techvet.traffic.analysis",
    "techvet.tables",
    "techvet.fleet.inventory",
    "techvet.fleet.policy",
    "techvet.screen.inputs",
    "techvet.verdict",
    "techvet.iocs.stix",
    "techvet.iocs.pattern",
    "techvet.iocs.echap",
    "techvet.iocs.values",
    "techvet.ios.macho",
    "techvet.ios.names",
    "techvet.ios.plist",
    "techvet.ios.signing",
    "techvet.ios.reader",
)


def _scratch(data: bytes, suffix: str) -> Path:
    handle, name = tempfile.mkstemp(suffix=suffix, dir=SCRATCH, prefix="techvet-fuzz-")
    with os.fdopen(handle, "wb") as out:
        out.write(data)
    return Path(name)


def _via_file(suffix: str, read: Callable[[str], object]) -> Callable[[bytes], None]:
    def one(data: bytes) -> None:
        path = _scratch(data, suffix)
        try:
            read(str(path))
        finally:
            path.unlink(missing_ok=True)

    return one


def _scan(path: str) -> None:
    from techvet import scan

    result = scan(path)
    failed = [e for e in result.errors if " failed: " in e]
    if failed:  # a detector raised: a hostile app switched it off
        raise RuntimeError(failed[0])


def _traffic(path: str) -> None:
    from techvet.traffic import analyze

    analyze(path)


def _table(path: str) -> None:
    from techvet.tables import read_table

    _, records = read_table(path, "devices")
    for _ in records:
        pass


def _fleet(path: str) -> None:
    from techvet.fleet.inventory import read_inventory

    for _ in read_inventory(path):
        pass


def _screen(path: str) -> None:
    from techvet.screen.inputs import read_parties

    for _ in read_parties(path):
        pass


def _app_policy(path: str) -> None:
    from techvet.verdict import AppPolicy

    AppPolicy.load(path)


def _fleet_policy(path: str) -> None:
    from techvet.fleet.policy import Policy

    Policy.load(path)


def _stix(path: str) -> None:
    """An indicator bundle (``--iocs``), its patterns and values, then a lookup in what it gave."""
    from techvet.iocs import read_bundle

    index = read_bundle(path)
    list(index.match_host("c2.example.org"))
    list(index.match_values("app_id", ["com.example"]))


def _echap(data: bytes) -> None:
    """A stalkerware list in Echap's ioc.yaml shape (what ``techvet iocs update`` downloads)."""
    from techvet.iocs import IndicatorIndex
    from techvet.iocs.echap import echap_index

    echap_index(data, "ioc.yaml", IndicatorIndex(), "fuzz", "CC-BY-4.0", "2026-12-04", "https://example.org")


def _zip(data: bytes) -> None:
    """The archive reader alone: the directory, then every entry within its budget. The apk target
    runs a whole scan per input (a few a second); this one reaches the zip code thousands of times
    more often."""
    from techvet.app.archive import Archive

    with Archive(data, "fuzz.zip") as archive:
        for name in archive.names[:64]:
            archive.peek(name)
            archive.read(name)


def _signing(data: bytes) -> None:
    """The APK Signing Block reader and the certificate parser behind it (v1 PKCS#7 too)."""
    import io

    from techvet.app.certs import describe_certificates, pkcs7_certificates, signing_block_certificates

    block = signing_block_certificates(io.BytesIO(data))
    describe_certificates(pkcs7_certificates(data), block)


def _axml(data: bytes) -> None:
    from techvet.app.axml import parse_axml

    parse_axml(data)


def _macho(data: bytes) -> None:
    """A Mach-O (fat, thin or static library) as the iOS reader reads each binary of an app."""
    from techvet.ios.macho import read_binary
    from techvet.ios.names import objc_classes
    from techvet.ios.signing import read_code_signature

    for image in read_binary(data, "fuzz").images:
        objc_classes(image)
        if image.signature is not None:
            offset, size = image.signature
            read_code_signature(image.data[offset : offset + size], "fuzz")


def _arsc(data: bytes) -> None:
    from techvet.app.resources import ResourceTable

    ResourceTable(data)


def entry(target: str) -> Callable[[bytes], None]:
    """The function that gives one input to ``target``'s reader."""
    suffix = TARGETS[target][0]
    by_path: dict[str, Callable[[str], None]] = {
        "apk": _scan,
        "bundle": _scan,
        "dex": _scan,
        "ipa": _scan,
        "pcap": _traffic,
        "pcapng": _traffic,
        "har": _traffic,
        "mitm": _traffic,
        "fleet-csv": _fleet,
        "screen-csv": _screen,
        "xlsx": _fleet,
        "json-table": _table,
        "app-policy": _app_policy,
        "fleet-policy": _fleet_policy,
        "stix": _stix,
    }
    if target in by_path:
        return _via_file(suffix, by_path[target])
    return {"axml": _axml, "arsc": _arsc, "zip": _zip, "signing": _signing, "echap": _echap, "macho": _macho}[target]


def seeds(target: str, reproducers: bool = True) -> list[Path]:
    """Fixture (and, with ``reproducers``, shared reproducer) files that start the corpus; the byte
    readers get theirs from :func:`_built_in_seeds`."""
    out: list[Path] = []
    for pattern in TARGETS[target][1]:
        out += sorted(FIXTURES.glob(pattern))
        if reproducers and SHARED.is_dir():
            out += sorted(SHARED.glob(pattern))
    return [p for p in out if p.is_file() and p.stat().st_size < 4 * 2**20]


def _built_in_seeds(target: str, folder: Path) -> None:
    """Small valid inputs for the readers no fixture file feeds directly."""
    import zipfile

    samples: list[bytes] = []
    if target in ("zip", "signing"):
        samples += [app.read_bytes() for app in sorted((FIXTURES / "apps").glob("*.apk"))]
    if target in ("axml", "arsc"):
        member = "AndroidManifest.xml" if target == "axml" else "resources.arsc"
        for app in sorted((FIXTURES / "apps").glob("*.apk")):
            with zipfile.ZipFile(app) as z:
                if member in z.namelist():
                    samples.append(z.read(member))
    if target == "stix":  # patterns of every shape the reader takes, and a few it refuses
        patterns = [
            "[domain-name:value = 'c2.example.org' OR ipv4-addr:value = '198.51.100.7']",
            "[app:id = 'com.example' AND (app:cert.sha1 = '" + "a" * 40 + "' OR app:cert.sha256 = '" + "b" * 64 + "')]",
            "[file:hashes.'SHA-256' = '" + "c" * 64 + "'] OR [ipv6-addr:value = '2001:db8::/48']",
            "[domain-name:value MATCHES '^a+$']",
            "[file:path = '/tmp/x'] FOLLOWEDBY [process:name = 'x'] WITHIN 5 SECONDS",
        ]
        sys.path.insert(0, str(ROOT))  # the tests' bundle builder
        from tests.stix_build import bundle

        samples.append(bundle(patterns, "Seed").encode())
    if target == "echap":
        samples.append(
            b"- name: Seed\n  names: [Seed, SeedPro]\n  type: stalkerware\n  packages: [com.seed.app]\n"
            b"  certificates: [" + b"A" * 40 + b"]\n  websites: [seed.example.org]\n"
            b"  c2:\n    ips: [47.252.23.40]\n    domains: [c2.seed.example.org]\n"
        )
    if target == "macho":  # every binary of the iOS sample, and a fat file of two slices
        for ipa in sorted((FIXTURES.parent.parent / "samples").glob("*.ipa")):
            with zipfile.ZipFile(ipa) as z:
                samples += [
                    z.read(n) for n in z.namelist() if z.read(n)[:4] in (b"\xcf\xfa\xed\xfe", b"\xca\xfe\xba\xbe")
                ]
    if target == "json-table":
        samples.append(b'{"devices": [{"make": "DJI", "model": "Mavic 3", "serial": "1ZNBJ"}]}')
    for n, data in enumerate(samples):
        (folder / f"seed-{n}").write_bytes(data)


def run_one(
    target: str, runs: int, max_time: int, reproducers: bool = True, crashes: Path = CRASHES, scratch: Path = SCRATCH
) -> int:
    """Fuzz ``target`` in this process (atheris takes over the process and exits at the end)."""
    import atheris

    with atheris.instrument_imports(include=["techvet"]):  # coverage for every module a reader uses
        import importlib

        for module in _READER_MODULES:
            importlib.import_module(module)
        from techvet.errors import TechvetError

    one = entry(target)

    def test_one(data: bytes) -> None:
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        with contextlib.suppress(TechvetError):  # a clean refusal: what a user sees as one line
            one(data)
        grown = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) // 1024
        if grown > INPUT_MB:  # this input alone took the process's peak up by that much
            raise MemoryError(f"one input raised the peak memory by {grown} MB (bound {INPUT_MB} MB)")

    corpus = Path(tempfile.mkdtemp(prefix=f"techvet-fuzz-{target}-", dir=scratch))
    for n, seed in enumerate(seeds(target, reproducers)):
        (corpus / f"{n}-{seed.name}").write_bytes(seed.read_bytes())
    _built_in_seeds(target, corpus)
    crashes.mkdir(parents=True, exist_ok=True)
    args = [
        sys.argv[0],
        str(corpus),
        f"-runs={runs}",
        f"-max_total_time={max_time}",
        "-timeout=20",
        f"-rss_limit_mb={PROCESS_MB}",
        f"-artifact_prefix={crashes}/{target}-",
        "-print_final_stats=1",
    ]
    atheris.Setup(args, test_one)
    atheris.Fuzz()
    return 0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("target", nargs="?", choices=sorted(TARGETS))
    ap.add_argument("--all", action="store_true", help="every target, each in its own process")
    ap.add_argument("--list", action="store_true")
    ap.add_argument("--runs", type=int, default=100_000, help="inputs per target (default 100,000)")
    ap.add_argument("--max-time", type=int, default=1800, help="seconds per target at most (default 1800)")
    ap.add_argument(
        "--no-reproducers", action="store_true", help="seed from the fixtures only, not ../shared/fuzz/reproducers"
    )
    ap.add_argument("--crashes", type=Path, default=CRASHES, help=f"where crashing inputs go (default {CRASHES})")
    ap.add_argument("--scratch", type=Path, default=SCRATCH, help="where the working corpus goes (default /dev/shm)")
    args = ap.parse_args()
    if args.list:
        for name in sorted(TARGETS):
            print(f"{name:14} {len(seeds(name))} seed files")
        return 0
    if args.all:
        import shutil

        failed = []
        root = Path(tempfile.mkdtemp(prefix="techvet-fuzz-", dir=SCRATCH))  # every target's corpus, removed at the end
        for name in sorted(TARGETS):
            print(f"== {name}", flush=True)
            cmd = [sys.executable, __file__, name, "--runs", str(args.runs), "--max-time", str(args.max_time)]
            cmd += ["--crashes", str(args.crashes), "--scratch", str(root)]
            cmd += ["--no-reproducers"] if args.no_reproducers else []
            if subprocess.run(cmd, check=False).returncode != 0:
                failed.append(name)
        shutil.rmtree(root, ignore_errors=True)
        print(f"targets with a crash (inputs saved in {args.crashes}): {', '.join(failed) or 'none'}")
        return 1 if failed else 0
    if not args.target:
        ap.error("name a target, or --all, or --list")
    return run_one(args.target, args.runs, args.max_time, not args.no_reproducers, args.crashes, args.scratch)


if __name__ == "__main__":
    sys.exit(main())
