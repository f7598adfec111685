"""The ``techvet`` command: parse arguments, call the library, pick the renderer.

Every error a user can cause becomes one line on stderr and a non-zero exit: 2 for unreadable
input, an incomplete scan (a detector failed; the report is still written) or a usage error, 1 when
``--fail-on`` is reached, 3 for a bug in techvet itself (still no traceback).

Why argparse and not typer: analysts run ``techvet scan`` once per app in shell loops over
thousands of apps, so start-up is part of every scan. Measured here, typer 0.29 adds about 45 ms
per run (it validates parameters through pydantic) and typer 0.16 about 80 ms (it imports rich and
click eagerly); argparse costs under 5 ms. rich is still used, imported only to render text reports.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any, NoReturn, TextIO

from techvet import __version__
from techvet.errors import TechvetError

FORMATS = ("text", "json")
REPORT_FORMATS = (*FORMATS, "sarif", "md", "html")  # the reports of scan, traffic and diff


class _Parser(argparse.ArgumentParser):
    """An argument parser whose usage errors are one line, like every other techvet error."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"techvet: {message} (see {self.prog} --help)\n")


def _build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="techvet", description="Vet Android apps with evidence: SDKs, capabilities, destinations, anti-analysis."
    )
    parser.add_argument("--version", action="version", version=f"techvet {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    scan = sub.add_parser(
        "scan", help="scan apps and report what they can do, which SDKs they embed, where they send data"
    )
    scan.add_argument("paths", nargs="+", help="APK, XAPK/APKS/APKM bundle, DEX file, or a folder of them")
    scan.add_argument(
        "-f",
        "--format",
        choices=REPORT_FORMATS,
        default="text",
        help="output format (default: text)",
    )
    scan.add_argument("-o", "--output", help="write the report to this file instead of standard output")
    scan.add_argument("-v", "--verbose", action="store_true", help="show the evidence of every finding")
    scan.add_argument(
        "--traffic",
        action="append",
        metavar="CAPTURE",
        help="a capture of the app's traffic (pcap, pcapng, HAR, mitmproxy dump): the destinations it confirms",
    )
    _verdict_options(scan, "the apps")
    scan.add_argument(
        "-j",
        "--jobs",
        type=int,
        default=0,
        metavar="N",
        help="scan N apps at a time (default: one per CPU core; 1: no worker processes)",
    )
    whois = sub.add_parser("whois", help="who owns a host or IP and in which country, offline, with sources")
    whois.add_argument("targets", nargs="+", metavar="HOST_OR_IP")
    whois.add_argument("-f", "--format", choices=FORMATS, default="text", help="output format (default: text)")
    screen = sub.add_parser(
        "screen",
        help="screen companies (a CSV, XLSX or JSON party file, or --name) against restriction and ban lists",
        description="Exit codes: 0 nothing matched, 1 possible matches or Xinjiang exposure to review, "
        "2 unreadable input (some rows or the whole file).",
    )
    screen.add_argument("file", nargs="?", help="party file: CSV, XLSX or JSON with a name column")
    screen.add_argument("-n", "--name", action="append", default=[], help="screen this name (repeatable)")
    screen.add_argument("--country", help="with --name: the party's country (ISO 3166 alpha-2)")
    screen.add_argument("-f", "--format", choices=("text", "json", "csv"), default="text")
    screen.add_argument("-o", "--output", help="write to this file instead of standard output")
    screen.add_argument("-v", "--verbose", action="store_true", help="explain every match")
    screen.add_argument("--threshold", type=float, default=None, help="lowest score reported (default 0.80)")
    screen.add_argument("--include-people", action="store_true", help="also screen against listed people")
    fleet = sub.add_parser(
        "fleet",
        help="decide per drone of an inventory (CSV, XLSX, JSON): ground, restrict, review or allow, with the rule",
        description="Exit codes: 0 every device allowed, 1 some grounded, restricted or to review, 2 unreadable rows.",
    )
    fleet.add_argument("file", help="inventory: make, model, serial, firmware, unit, companion app, components")
    fleet.add_argument("--policy", help="policy file (default: the US federal rules, fleet_policy.yaml)")
    fleet.add_argument("--columns", help="map columns: model=Aircraft,make=Brand,camera_maker=Camera OEM")
    fleet.add_argument("--apps", help="folder of companion APKs to scan and attach by package id")
    fleet.add_argument(
        "--app-policy", help="app policy the companion apps are judged by (default: app_policy.yaml, as in scan)"
    )
    fleet.add_argument("-f", "--format", choices=("text", "json", "csv", "html"), default="text")
    fleet.add_argument("-o", "--output", help="write to this file instead of standard output")
    traffic = sub.add_parser(
        "traffic",
        help="read network captures (pcap, pcapng, HAR, mitmproxy dumps): flows, destinations, cleartext, weak TLS",
    )
    traffic.add_argument("captures", nargs="+", metavar="CAPTURE")
    traffic.add_argument(
        "-f",
        "--format",
        choices=REPORT_FORMATS,
        default="text",
        help="text, JSON (one object per capture), SARIF (a run per capture), Markdown, or HTML (one page)",
    )
    _verdict_options(traffic, "the captures")
    traffic.add_argument("-o", "--output", help="write to this file instead of standard output")
    traffic.add_argument(
        "--device",
        metavar="IDS.yaml",
        help="the test device's own identifiers (imei: ..., android_id: ...), to find them hashed",
    )
    changes = sub.add_parser("diff", help="what changed between two versions of an app (APKs or saved JSON results)")
    changes.add_argument("old", help="the earlier version: an app, or a techvet scan --format json result")
    changes.add_argument("new", help="the later version")
    changes.add_argument("-f", "--format", choices=REPORT_FORMATS, default="text")
    changes.add_argument("-o", "--output", help="write to this file instead of standard output")
    changes.add_argument("--policy", help="app policy for the verdicts (default: app_policy.yaml)")
    lists = sub.add_parser("lists", help="the bundled restriction and ban lists")
    lists.add_argument(
        "action",
        choices=("show", "update"),
        help="show: what is in use, counts, dates, staleness; update: download the lists from their authorities",
    )
    sub.add_parser("rules", help="list every rule: id, severity, category and title")
    explain = sub.add_parser("explain", help="explain a rule: what it catches, why it matters, its sources")
    explain.add_argument("rule_id", help="a rule id such as TV201")
    return parser


def _verdict_options(parser: argparse.ArgumentParser, judged: str) -> None:
    """--policy and --fail-on, the same for every command that gives a verdict."""
    parser.add_argument(
        "--fail-on",
        metavar="LEVEL",
        help="exit 1 when a finding is at least this severe (info, low, medium, high, critical), "
        "or when the policy's verdict is at least warn or fail",
    )
    parser.add_argument("--policy", help=f"app policy {judged} are judged by (default: app_policy.yaml, US federal)")


def _scan(args: argparse.Namespace) -> int:
    import os

    from techvet.bulk import render_many
    from techvet.scan import find_apps
    from techvet.verdict import AppPolicy, FailOn

    fail_on = FailOn.parse(args.fail_on)
    if args.policy is not None:
        AppPolicy.load(args.policy)  # a bad policy is one error line before any app is read
    if args.jobs < 0:
        return _error("--jobs must be 0 (one per core) or more")
    targets: list[str] = []
    for p in args.paths:
        if os.path.isdir(p):
            targets.extend(find_apps(p))
        elif os.path.exists(p):
            targets.append(p)
        else:
            return _error(f"{p}: no such file or folder")
    if args.format == "html" and len(targets) > 1:
        return _html_folder(args, targets)
    try:
        out: TextIO = open(args.output, "w", encoding="utf-8") if args.output else sys.stdout  # noqa: SIM115
    except OSError as exc:
        return _error(f"{args.output}: cannot write ({exc.strerror})")
    traffic = None
    if args.traffic:
        from techvet.traffic import analyze
        from techvet.traffic.correlate import observed

        results = []
        for capture in args.traffic:
            results.append(analyze(capture))
            for warning in results[-1].stats.warnings:
                print(f"techvet: {capture}: warning: {warning}", file=sys.stderr)
        traffic = observed(results)
    failed = unreadable = incomplete = 0
    runs = []  # SARIF: one log holding a run per app
    try:
        for item in render_many(targets, args.format, args.verbose, args.jobs, traffic, args.policy):
            if not item.ok:
                unreadable += 1
                print(f"techvet: {item.output}", file=sys.stderr)
                continue
            if args.format == "sarif":
                runs.append(item.output)
            else:
                out.write(item.output)
                out.flush()
            for err in item.errors:
                incomplete += 1
                print(f"techvet: {item.path}: incomplete scan: {err}", file=sys.stderr)
            if fail_on.reached(item.max_severity, item.verdict):
                failed += 1
        if args.format == "sarif":
            from techvet.report.sarif import wrap

            out.write(wrap(runs) + "\n")
    finally:
        if args.output:
            out.close()
    if unreadable or incomplete:
        return 2
    return 1 if failed else 0


def _html_folder(args: argparse.Namespace, targets: list[str]) -> int:
    """Many apps as HTML: a page per app and a sortable index, in the folder given with -o."""
    from pathlib import Path

    from techvet.bulk import render_many
    from techvet.report.html_index import page_name, write_index

    if not args.output:
        return _error("--format html for several apps writes a folder: give it with -o FOLDER")
    folder = Path(args.output)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        return _error(f"{folder}: cannot create ({exc.strerror})")
    rows: list[dict[str, Any]] = []
    unreadable: list[str] = []
    used: set[str] = set()
    progress = _progress_bar(len(targets))
    for item in render_many(targets, "html", False, args.jobs, None, args.policy):
        progress.advance()
        if not item.ok:
            unreadable.append(Path(item.path).name)
            print(f"techvet: {item.output}", file=sys.stderr)
            continue
        name = page_name(item.path, used)
        (folder / name).write_text(item.output, encoding="utf-8")
        rows.append({"page": name, **(item.summary or {})})
    progress.close()
    write_index(folder, rows, unreadable)
    print(f"{len(rows)} app pages and index.html written to {folder}", file=sys.stderr)
    return 2 if unreadable else 0


class _progress_bar:  # noqa: N801 - used like a function
    """A progress line on a terminal (stderr), nothing otherwise."""

    def __init__(self, total: int) -> None:
        self.bar = None
        if sys.stderr.isatty():
            from rich.progress import Progress

            self.bar = Progress(transient=True)
            self.bar.start()
            self.task = self.bar.add_task("scanning", total=total)

    def advance(self) -> None:
        if self.bar is not None:
            self.bar.advance(self.task)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.stop()


def _diff(args: argparse.Namespace) -> int:
    import json

    from techvet.diff import diff, load_side, render_text
    from techvet.report import write_report

    old, new = load_side(args.old, args.policy), load_side(args.new, args.policy)
    changes = diff(old, new)
    if args.format == "json":
        text = json.dumps(changes, ensure_ascii=False, indent=1) + "\n"
    elif args.format == "md":
        from techvet.report.markdown import md

        text = "".join(f"- {md(line)}\n" for line in render_text(changes).splitlines())
    elif args.format == "html":
        from techvet.report.html import render_diff

        text = render_diff(changes)
    elif args.format == "sarif":
        from techvet.report.sarif import diff_run, wrap

        text = wrap([json.dumps(diff_run(old, new), ensure_ascii=False)]) + "\n"
    else:
        text = render_text(changes)
    write_report(text, args.output)
    return 0


def _whois(targets: list[str], fmt: str) -> int:
    import json

    from techvet.place import attribute

    results = [attribute(t) for t in targets]
    if fmt == "json":
        print(json.dumps([r.to_dict() for r in results], ensure_ascii=False, indent=1))
        return 0
    print("offline attribution: no name is resolved and no service is asked")
    for r in results:
        print(f"\n{r.input}")
        rows: list[tuple[str, str | None]] = [
            ("registrable domain", r.registrable_domain),
            ("owner", r.owner),
            ("parent", r.parent),
            ("owner country", r.owner_country),
            ("server country", r.server_country),
        ]
        if r.kind == "ip":
            rows.append(("network", f"AS{r.asn} {r.network or ''}".rstrip() if r.asn else None))
        for label, value in rows:
            print(f"  {label:19} {value if value is not None else 'unknown'}")
        for reason in r.reasons:
            print(f"  because            {reason}")
        for s in r.sources:
            print(f"  source             {s['name']} (as of {s['as_of']})")
    return 0


def _rules() -> int:
    from techvet.knowledge import load
    from techvet.policy_docs import policy_lines

    for rule in load().rules.values():
        print(f"{rule.id}  {rule.severity!s:8}  {rule.category:14}  {rule.title}")
    print("\npolicy lines of the default policies (app_policy.yaml, fleet_policy.yaml; yours may differ)")
    for line in policy_lines():
        print(f"{line['id']:20}  {line['effect']:8}  {line['why']}")
    return 0


def _explain(rule_id: str) -> int:
    from techvet.knowledge import load

    rule = load().rules.get(rule_id.strip().upper())
    if rule is None:
        from techvet.policy_docs import explain_line

        text = explain_line(rule_id)
        if text is None:
            return _error(f"no rule or policy line {rule_id!r} (techvet rules lists them)")
        print("\n".join(text))
        return 0
    print(f"{rule.id} {rule.name}: {rule.title}")
    print(f"severity: {rule.severity}   category: {rule.category}")
    print(f"\nWhat it catches\n  {rule.what}")
    print(f"\nWhy it matters\n  {rule.why}")
    if rule.refs:
        print("\nReferences")
        for ref in rule.refs:
            print(f"  {ref}")
    print(f"\nKnowledge source: {rule.source} (as of {rule.as_of})")
    return 0


def _error(message: str, code: int = 2) -> int:
    print(f"techvet: {message}", file=sys.stderr)
    return code


def run(argv: list[str] | None = None) -> int:
    """Run the command line with ``argv``; return the exit code."""
    args = _build_parser().parse_args(argv)
    if args.command == "scan":
        return _scan(args)
    if args.command == "rules":
        return _rules()
    if args.command == "whois":
        return _whois(args.targets, args.format)
    if args.command == "screen":
        from techvet.screen.command import run_screen

        return run_screen(args)
    if args.command == "fleet":
        from techvet.fleet.command import run_fleet

        return run_fleet(args)
    if args.command == "traffic":
        from techvet.traffic.command import run_traffic

        return run_traffic(args)
    if args.command == "diff":
        return _diff(args)
    if args.command == "lists":
        from techvet.screen.command import show_lists, update

        return show_lists() if args.action == "show" else update()
    return _explain(args.rule_id)


def main() -> None:
    """Console entry point: run, turning every error into one line."""
    try:
        code = run()
    except TechvetError as exc:
        code = _error(str(exc))
    except KeyboardInterrupt:
        code = 130
    except BrokenPipeError:  # `techvet scan ... | head` closed the pipe: not an error
        code = 0
    except Exception as exc:  # noqa: BLE001 - the edge: a bug in techvet, reported without a traceback
        code = _error(f"internal error: {type(exc).__name__}: {exc}", 3)
    sys.exit(code)


if __name__ == "__main__":
    main()
