#!/usr/bin/env python3
"""Benchmark ``techvet scan`` against androguard's AnalyzeAPK, exodus-core and APKiD on a corpus.

    python bench/scan.py --corpus ~/.cache/techvet-corpus        (make bench sets up the peers)

Every app is analysed by every tool in a fresh subprocess. Per tool it prints the median analysis
time (imports and rule/signature loading excluded, timed inside the process), the median wall time
of the whole process, and the peak RSS over all apps; then techvet's ratios against each peer.
Peers run from their own virtual environments (their pinned dependencies conflict with each other):
``.venv-bench/<tool>/bin/python``; a peer that is not installed is reported and skipped.
exodus-core's tracker method needs Debian's ``dexdump``.

Then what the SDK catalogue built from maintained sources (issue 12) costs: every app scanned in
this process with the full knowledge and with the catalogue as it was before (hand-curated SDKs and
Exodus only: ``sdk_catalogue.json`` emptied in a copy, but for one component and one library),
alternately, best of three each; the median scan time of each and their ratio. The
unidentified-component pass runs in both (it is part of a scan).

Then the known surveillance tools' index (issue 17): its load time against the ``stix2`` library
parsing the bundles it is built from, and the share of scan time that matching takes.

Last, iOS (issue 18): techvet's whole scan of each IPA (read, every detector, attribution) against
LIEF parsing the same Mach-O files plus a ``strings`` pass over them (the least a peer does before
it can say anything), in fresh processes, best of three each; and techvet's peak memory. The IPAs:
the Weibo SDK's real demo apps and an app around Tencent's real TencentOpenAPI framework (from the
fetched repositories, when present), the test fixtures, and a large synthetic app (20,000 classes,
200,000 methods, 100,000 strings: the scale of a large real app's binary) twice: thin arm64 (the
shape of an App Store build since Xcode 14 dropped 32-bit) and fat armv7 + arm64 (every slice is
read, as LIEF parses every slice).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TRACKERS = ROOT.parent / "shared" / "knowledge" / "exodus" / "trackers.json"

DRIVERS = {
    "techvet": """
import sys, time
import techvet
import numpy, asn1crypto.cms, asn1crypto.x509  # techvet imports these lazily; imports are excluded
from techvet.knowledge import load
kb = load()
kb.psl, kb.place  # attribution data, loaded on first use: part of loading the knowledge
kb.restriction_forms, kb.name_words  # the restriction lists' exact-name lookups, likewise
t = time.perf_counter()
techvet.scan(sys.argv[1])
print(time.perf_counter() - t)
""",
    "androguard": """
import sys, time
from loguru import logger
logger.remove()
from androguard.misc import AnalyzeAPK
t = time.perf_counter()
AnalyzeAPK(sys.argv[1])
print(time.perf_counter() - t)
""",
    "exodus-core": """
import json, sys, time
from collections import namedtuple
from exodus_core.analysis.static_analysis import StaticAnalysis
sa = StaticAnalysis()
data = json.load(open(sys.argv[2]))["trackers"]
sa.signatures = [namedtuple("tracker", t.keys())(*t.values()) for t in data.values()]
sa._compile_signatures()
t = time.perf_counter()
sa.detect_trackers_in_list(StaticAnalysis._get_embedded_classes(sys.argv[1]))
print(time.perf_counter() - t)
""",
    "apkid": """
import io, sys, time, contextlib
from apkid.apkid import Options, Scanner
options = Options(json=True)
rules = options.rules_manager.load()
scanner = Scanner(rules, options)
t = time.perf_counter()
with open(sys.argv[1], "rb") as f:
    scanner.scan_file_obj(f, sys.argv[1])
print(time.perf_counter() - t)
""",
}


def run_measured(cmd: list[str]) -> tuple[float | None, float, int]:
    """Like :func:`run`, with the child's peak RSS from wait4."""
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    assert proc.stdout is not None
    out = proc.stdout.read().decode(errors="replace")
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    wall = time.perf_counter() - started
    try:
        analysis = float(out.strip().splitlines()[-1])
    except (ValueError, IndexError):
        analysis = None
    return analysis, wall, usage.ru_maxrss // 1024


def catalogue_cost(apps: list[Path], rounds: int = 3) -> None:
    """Median scan time with the full SDK catalogue against the pre-issue-12 one, in one process."""
    import tempfile

    import techvet
    from techvet.knowledge import DATA_DIR, _load

    with tempfile.TemporaryDirectory() as tmp:
        small_dir = Path(tmp) / "data"
        shutil.copytree(DATA_DIR, small_dir)
        doc = json.loads((small_dir / "sdk_catalogue.json").read_text(encoding="utf-8"))
        for key in ("sdks", "extensions", "exodus_vendors"):
            doc[key] = [] if isinstance(doc[key], list) else {}
        # the loader refuses an empty component or library table (a tampered file); one of each
        doc["components"] = {"com.igexin.sdk.PushService": "getui"}
        doc["libraries"] = {"android": "Android framework"}
        (small_dir / "sdk_catalogue.json").write_text(json.dumps(doc), encoding="utf-8")
        full, small = _load(DATA_DIR), _load(small_dir)
        for kb in (full, small):
            _ = (kb.psl, kb.place, kb.restriction_forms, kb.name_words)  # loaded on first use, not timed
        times: dict[str, list[float]] = {"full": [], "small": []}
        for app in apps:
            best = {"full": float("inf"), "small": float("inf")}
            for _ in range(rounds):
                for name, kb in (("full", full), ("small", small)):
                    t = time.perf_counter()
                    techvet.scan(app, knowledge=kb)
                    best[name] = min(best[name], time.perf_counter() - t)
            for name in times:
                times[name].append(best[name])
    f, s = statistics.median(times["full"]), statistics.median(times["small"])
    print(
        f"SDK catalogue: {len(full.sdks)} SDKs ({len(full.sdk_by_component)} manifest components, "
        f"{len(full.library_by_prefix)} library packages) against {len(small.sdks)} before"
    )
    print(
        f"median scan s: full catalogue {f:.4f}, before {s:.4f}; "
        f"ratio full/before = {f / s:.3f} (cost {100 * (f / s - 1):+.1f}%, limit +10%)"
    )


INDEX_LOAD = """
import sys, time
import techvet.iocs.installed as installed  # imports excluded, as for every driver
from techvet.iocs.index import IndicatorIndex
from techvet.knowledge import _read
folder = installed.index_folder()
t = time.perf_counter()
IndicatorIndex.from_doc(_read(folder, installed.INDEX_FILE))
print(time.perf_counter() - t)
"""
STIX2_LOAD = """
import sys, time
import stix2
t = time.perf_counter()
for path in sys.argv[1:]:
    with open(path, encoding="utf-8") as handle:
        stix2.parse(handle.read(), allow_custom=True)
print(time.perf_counter() - t)
"""


def indicator_cost(apps: list[Path], peers: Path, rounds: int = 3) -> None:
    """Issue 17's two figures. The index's load time in a fresh process (imports excluded), against
    the ``stix2`` library parsing the MVT bundles it is built from (the STIX part only: stix2 does
    not read Echap's YAML), best of five each. And what matching costs a scan: per app, the time of
    the TV607 detector plus hashing the payload DEX the reader hashes for it (the nested archives'
    digests are not timed: they are a few small files), against the whole scan, best of ``rounds``.
    It also times hashing every DEX, the app's own code too: the choice the reader does not make."""
    import hashlib

    from techvet.app.reader import read_app
    from techvet.detect.iocs import app_findings
    from techvet.iocs import installed_index
    from techvet.knowledge import load
    from techvet.scan import scan_app

    def best_of(cmd: list[str], n: int = 5) -> float | None:
        found = [run_measured(cmd)[0] for _ in range(n)]
        return min((t for t in found if t is not None), default=None)

    ours = best_of([sys.executable, "-c", INDEX_LOAD])
    bundles = sorted((ROOT.parent / "shared" / "knowledge" / "iocs" / "mvt-indicators").glob("*/*.stix2"))
    peer_py = peers / "stix2" / "bin" / "python"
    theirs = best_of([str(peer_py), "-c", STIX2_LOAD, *map(str, bundles)]) if peer_py.exists() and bundles else None
    index = installed_index()
    loaded = f"loads in {1000 * (ours or 0):.1f} ms"
    line = f"indicator index: {len(index.families)} families, {index.size()} indicators; {loaded}"
    if theirs is not None:
        ratio = theirs / (ours or 1)
        peer = f"stix2 parses its {len(bundles)} MVT bundles in {1000 * theirs:.1f} ms"
        line += f"; {peer}: ratio stix2/techvet = {ratio:.1f}x"
    else:
        line += " (stix2 not installed in .venv-bench/stix2, or ../shared absent: no peer)"
    print(line + " (limit 50 ms)")
    kb = load()
    shares, spent, scanned, every_dex = [], 0.0, 0.0, 0.0
    for path in apps:
        best_scan = best_match = best_all = float("inf")
        for _ in range(rounds):
            t = time.perf_counter()
            app = read_app(path)
            result = scan_app(app, kb, index)
            whole = time.perf_counter() - t
            t = time.perf_counter()
            for dex in app.code.dexes:  # what the reader spends on digests, done again to time it
                if dex.name in app.digests:
                    hashlib.sha256(dex.data).hexdigest()
            app_findings(app, result.findings, index, kb)
            match = time.perf_counter() - t
            t = time.perf_counter()
            for dex in app.code.dexes:  # the app's own classesN.dex too: the choice not made
                hashlib.sha256(dex.data).hexdigest()
            every = time.perf_counter() - t
            best_scan, best_match, best_all = min(best_scan, whole), min(best_match, match), min(best_all, every)
        shares.append(best_match / best_scan)
        spent, scanned, every_dex = spent + best_match, scanned + best_scan, every_dex + best_all
    median, most, together = statistics.median(shares), max(shares), spent / scanned
    print(f"matching (TV607 detector + payload DEX digests), {len(apps)} apps: median {100 * median:.2f}% of a scan,")
    print(f"  max {100 * most:.2f}%, all apps together {100 * together:.2f}% (limit 5%)")
    print(f"  hashing every DEX, the app's own classesN.dex too, would take {100 * every_dex / scanned:.2f}% more")


IOS_TECHVET = """
import sys, time
import techvet
import asn1crypto.cms, asn1crypto.x509, plistlib  # imported lazily by techvet; imports are excluded
from techvet.knowledge import load
from techvet.iocs import installed_index
kb = load()
kb.psl, kb.place, kb.restriction_forms, kb.name_words
installed_index()
best = float("inf")
for _ in range(3):
    t = time.perf_counter()
    techvet.scan(sys.argv[1])
    best = min(best, time.perf_counter() - t)
print(best)
"""
IOS_LIEF = """
import re, sys, time, zipfile
import lief
lief.logging.disable()
printable = re.compile(rb"[\\x20-\\x7e]{4,}")
best = float("inf")
for _ in range(3):
    t = time.perf_counter()
    with zipfile.ZipFile(sys.argv[1]) as archive:
        for name in sys.argv[2:]:
            raw = archive.read(name)
            lief.MachO.parse(raw)
            printable.findall(raw)
    best = min(best, time.perf_counter() - t)
print(best)
"""


def ios_apps(folder: Path) -> list[Path]:
    """The IPAs of the iOS line, built or extracted into ``folder``."""
    sys.path.insert(0, str(ROOT))
    from tests import ios_build as build

    apps = [build.sdk_app(folder / "fixture_sdks.ipa"), build.encrypted_app(folder / "fixture_encrypted.ipa")]
    mirrors = Path(os.environ.get("TECHVET_MIRRORS", "/work/.mirror"))
    weibo = mirrors / "sinaweibosdk+weibo_ios_sdk" / "repo"
    for name, commit in (("SDKDemo20131126.ipa", "a3b0ec7"), ("SDKDemo20140109.ipa", "97d9110")):
        done = subprocess.run(
            ["git", "--git-dir", str(weibo), "cat-file", "-p", f"{commit}:{name}"], capture_output=True
        )
        if done.returncode == 0 and done.stdout:
            (folder / name).write_bytes(done.stdout)
            apps.append(folder / name)
    tencent = mirrors / "wanggang316+MyTimeLine" / "repo"
    spec = "HEAD:TencentOpenAPI.framework/TencentOpenAPI"
    done = subprocess.run(["git", "--git-dir", str(tencent), "cat-file", "-p", spec], capture_output=True)
    if done.returncode == 0 and done.stdout:
        main = build.macho(build.MachOSpec(classes={"AppDelegate": []}))
        files = {"Share": main, "Frameworks/TencentOpenAPI.framework/TencentOpenAPI": done.stdout}
        apps.append(
            build.ipa(folder / "tencent_share.ipa", "Share", build.info("org.example.share", "Share", "Share"), files)
        )
    large = build.MachOSpec(
        classes={f"App{i}Controller": [f"method{j}With{i}:" for j in range(10)] for i in range(20_000)},
        strings=[
            f"https://api{i % 200}.host{i % 50}.example.cn/v1/{i}" if i % 20 == 0 else f"log message {i} with detail"
            for i in range(100_000)
        ],
        imports=[f"_symbol{i}" for i in range(5_000)] + ["_OBJC_CLASS_$_CLLocationManager"],
    )
    thin = build.macho(large)
    info = build.info("org.example.large", "Large", "Large")
    apps.append(build.ipa(folder / "large_synthetic_thin.ipa", "Large", info, {"Large": thin}))
    apps.append(
        build.ipa(
            folder / "large_synthetic_fat.ipa",
            "Large",
            info,
            {"Large": build.fat((12, 9, thin), (0x0100000C, 0, thin))},
        )
    )
    return apps


def ios_cost(peers: Path) -> int:
    """The iOS line: techvet's whole scan against LIEF + strings on the same binaries."""
    import tempfile

    from techvet.ios.reader import read_ios_app

    peer_py = peers / "lief" / "bin" / "python"
    with tempfile.TemporaryDirectory() as tmp:
        apps = ios_apps(Path(tmp))
        cli = Path(sys.executable).with_name("techvet")
        ours_total = theirs_total = 0.0
        peak = 0
        print(f"iOS: {len(apps)} IPAs; best of 3 in a fresh process each, imports and knowledge loading excluded")
        head = f"{'app':26} {'binaries':>8} {'MiB':>6} {'techvet ms':>11} {'LIEF+strings ms':>16}"
        print(f"{head} {'ratio':>6} {'RSS MiB':>8}")
        for app in apps:
            binaries = [b.path for b in read_ios_app(app).ios.binaries]  # type: ignore[union-attr]
            ours = run_measured([sys.executable, "-c", IOS_TECHVET, str(app)])[0]
            _, _, rss = run_measured([str(cli), "scan", str(app), "--format", "json", "-o", os.devnull])
            theirs = run_measured([str(peer_py), "-c", IOS_LIEF, str(app), *binaries])[0] if peer_py.exists() else None
            peak = max(peak, rss)
            size = app.stat().st_size / 2**20
            ratio = f"{theirs / ours:6.2f}" if ours and theirs else "     -"
            theirs_ms = f"{1000 * theirs:16.1f}" if theirs else f"{'failed':>16}"
            print(
                f"{app.name:26} {len(binaries):8d} {size:6.2f} {1000 * (ours or 0):11.1f} {theirs_ms} {ratio} {rss:8d}"
            )
            if ours and theirs:
                ours_total, theirs_total = ours_total + ours, theirs_total + theirs
    if not peer_py.exists():
        print(f"LIEF not installed in {peer_py.parent.parent} (make bench installs it): no peer")
        return 0
    print(
        f"ratio LIEF+strings/techvet over the IPAs both read = {theirs_total / (ours_total or 1):.2f}x (>= 1.0: techvet"
    )
    print(f"  is no slower); techvet peak RSS {peak} MiB (limit 300)")
    return 0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--corpus", type=Path, required=True)
    ap.add_argument(
        "--peers", type=Path, default=ROOT / ".venv-bench", help="folder of the peers' virtual environments"
    )
    ap.add_argument("--limit", type=int, default=0, help="only the first N apps")
    ap.add_argument("--json", type=Path, help="also write the raw measurements here")
    ap.add_argument("--catalogue-only", action="store_true", help="only the SDK catalogue's cost (no peers)")
    ap.add_argument("--iocs-only", action="store_true", help="only the indicator index's load time and matching cost")
    ap.add_argument("--ios-only", action="store_true", help="only the iOS line: techvet against LIEF + strings")
    args = ap.parse_args()
    # The peers were installed by pip, which compiles their modules to bytecode; techvet is an
    # editable install, whose modules would otherwise be compiled from source in every process
    # (this machine sets PYTHONDONTWRITEBYTECODE). Compile them once, as an install would.
    import compileall

    compileall.compile_dir(str(ROOT / "src" / "techvet"), quiet=1)
    if args.ios_only:
        return ios_cost(args.peers)
    apps = sorted(args.corpus.glob("*.apk"))
    if args.limit:
        apps = apps[: args.limit]
    if not apps:
        print(f"no .apk files in {args.corpus}", file=sys.stderr)
        return 2
    if args.catalogue_only:
        catalogue_cost(apps)
        return 0
    if args.iocs_only:
        indicator_cost(apps, args.peers)
        return 0
    pythons = {"techvet": Path(sys.executable)}
    for tool, venv in (("androguard", "androguard"), ("exodus-core", "exodus"), ("apkid", "apkid")):
        py = args.peers / venv / "bin" / "python"
        if py.exists():
            pythons[tool] = py
        else:
            print(f"skipping {tool}: {py} not found (make bench installs it)", file=sys.stderr)
    if "exodus-core" in pythons and shutil.which("dexdump") is None:
        print("skipping exodus-core: dexdump not found (apt-get install dexdump)", file=sys.stderr)
        del pythons["exodus-core"]
    cli = Path(sys.executable).with_name("techvet")
    results: dict[str, dict[str, list[float]]] = {t: {"analysis": [], "wall": [], "rss": []} for t in pythons}
    results["techvet-cli"] = {"analysis": [], "wall": [], "rss": []}
    for app in apps:
        for tool, py in pythons.items():
            cmd = [str(py), "-c", DRIVERS[tool], str(app)]
            if tool == "exodus-core":
                cmd.append(str(TRACKERS))
            analysis, wall, rss = run_measured(cmd)
            if analysis is not None:
                results[tool]["analysis"].append(analysis)
            results[tool]["wall"].append(wall)
            results[tool]["rss"].append(rss)
        _, wall, rss = run_measured([str(cli), "scan", str(app), "--format", "json", "-o", os.devnull])
        results["techvet-cli"]["wall"].append(wall)
        results["techvet-cli"]["rss"].append(rss)
    print(f"apps: {len(apps)} from {args.corpus}")
    print(f"{'tool':14} {'median analysis s':>18} {'median wall s':>14} {'peak RSS MiB':>13} {'failed':>7}")
    med = {}
    for tool, r in results.items():
        a = statistics.median(r["analysis"]) if r["analysis"] else float("nan")
        w = statistics.median(r["wall"])
        med[tool] = (a, w)
        failed = len(apps) - len(r["analysis"]) if tool != "techvet-cli" else 0
        print(f"{tool:14} {a:18.4f} {w:14.3f} {max(r['rss']):13d} {failed:7d}")
    tv_a, _ = med["techvet"]
    _, cli_w = med["techvet-cli"]
    for peer in ("androguard", "exodus-core"):
        if peer in med:
            print(f"ratio analysis {peer}/techvet = {med[peer][0] / tv_a:.1f}x")
    if "apkid" in med:
        print(f"ratio wall apkid/techvet-cli = {med['apkid'][1] / cli_w:.2f}x (>= 1.0: techvet scan is no slower)")
    print(f"techvet peak RSS over all apps: {max(results['techvet-cli']['rss'] + results['techvet']['rss'])} MiB")
    catalogue_cost(apps)
    indicator_cost(apps, args.peers)
    ios_cost(args.peers)
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
