"""The ``techvet`` command: parse arguments, call the library, pick the renderer.

One command line, the same habits everywhere: ``-f/--format`` (text, json, and csv where the result
is a table), ``-o/--output FILE``, ``-v/--verbose`` (more detail), ``-q/--quiet`` (no progress, no
warnings; errors still), and ``--fail-on LEVEL`` on every command that decides (scan, traffic,
diff, screen, fleet). Exit codes: 0 fine, 1 ``--fail-on`` reached, 2 unreadable input, nothing to
analyse, an incomplete scan or a usage error, 3 a bug in techvet itself (still no traceback). Every
error a user can cause is one line on stderr; a usage error points at the command's own help.

Why argparse and not typer: analysts run ``techvet scan`` once per app in shell loops over
thousands of apps, so start-up is part of every scan. Measured here, typer 0.29 adds about 45 ms
per run (it validates parameters through pydantic) and typer 0.16 about 80 ms (it imports rich and
click eagerly); argparse costs under 5 ms. rich is still used, imported only to render text reports.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any, NoReturn

from techvet import __version__
from techvet.errors import TechvetError, UsageError
from techvet.iocs.command import add_iocs_option
from techvet.screen.staleness import warn_if_stale

REPORT_FORMATS = ("text", "json", "sarif", "md", "html")  # the reports of scan, traffic and diff
TABLE_FORMATS = ("text", "json", "csv")  # results that are one row per input


class _Parser(argparse.ArgumentParser):
    """An argument parser whose usage errors are one line, like every other techvet error, and
    point at the help of the command they concern."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"techvet: {message} (see {self.prog} --help)\n")


def _common(parser: argparse.ArgumentParser, formats: tuple[str, ...], output: bool = True) -> None:
    """The options every command has, meaning the same thing everywhere."""
    parser.add_argument(
        "-f", "--format", choices=formats, default="text", help=f"output format: {', '.join(formats)} (default: text)"
    )
    if output:
        parser.add_argument("-o", "--output", metavar="FILE", help="write to FILE instead of standard output")
    parser.add_argument("-v", "--verbose", action="store_true", help="more detail (evidence, explanations, sources)")
    parser.add_argument(
        "-q", "--quiet", action="store_true", help="no progress bar and no warnings on stderr (errors are still shown)"
    )


def _verdict_options(parser: argparse.ArgumentParser, judged: str) -> None:
    """--policy and --fail-on, the same for every command that judges by the app policy."""
    parser.add_argument(
        "--fail-on",
        metavar="LEVEL",
        help="exit 1 when a finding is at least this severe (info, low, medium, high, critical), "
        "or when the policy's verdict is at least warn or fail; never: exit 0 whatever is found (the default)",
    )
    parser.add_argument(
        "--policy", metavar="FILE", help=f"app policy {judged} are judged by (default: app_policy.yaml)"
    )


def _cluster_option(parser: argparse.ArgumentParser, what: str) -> None:
    """--cluster, the same for every command that runs many items (scan, screen)."""
    parser.add_argument(
        "--cluster",
        metavar="ADDRESS",
        help=f"run {what} on a Dask cluster: tcp://HOST:8786 (an existing scheduler) or local[:N] (a LocalCluster "
        "of N workers here); default: $TECHVET_DASK_SCHEDULER, else this machine's process pool "
        "(needs techvet[cluster])",
    )


def _build_parser() -> tuple[argparse.ArgumentParser, dict[str, argparse.ArgumentParser]]:
    parser = _Parser(
        prog="techvet",
        description="Vet foreign technology with evidence: apps, captures, supplier files, drone fleets.",
        epilog="Exit codes: 0 fine, 1 --fail-on reached, 2 unreadable input or nothing to analyse, 3 internal error.",
    )
    parser.add_argument("--version", action="version", version=f"techvet {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser, metavar="COMMAND")
    commands: dict[str, argparse.ArgumentParser] = {}

    scan = commands["scan"] = sub.add_parser(
        "scan", help="scan apps: what they can do, which SDKs they embed, where they send data, a verdict"
    )
    scan.add_argument(
        "paths",
        nargs="+",
        metavar="APP",
        help="APK, XAPK/APKS/APKM bundle, DEX file, a folder, an fsspec URL (file://, s3:// ...), or a list of "
        "them: a text file (.txt, one per line) or a column of a CSV/TSV or Parquet table",
    )
    _common(scan, (*REPORT_FORMATS, "parquet"))
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
        help="scan N apps at a time on this machine (default: one per CPU core; 1: one at a time)",
    )
    _cluster_option(scan, "the scans")
    add_iocs_option(scan, "the apps")
    scan.add_argument(
        "--column",
        metavar="NAME",
        help="the column of a CSV or Parquet list that holds the paths (default: path, url ...)",
    )

    traffic = commands["traffic"] = sub.add_parser(
        "traffic",
        help="read network captures (pcap, pcapng, HAR, mitmproxy dumps): flows, destinations, cleartext, weak TLS",
    )
    traffic.add_argument("captures", nargs="+", metavar="CAPTURE", help="a capture file, or a folder of them")
    _common(traffic, REPORT_FORMATS)
    _verdict_options(traffic, "the captures")
    traffic.add_argument(
        "--device",
        metavar="IDS.yaml",
        help="the test device's own identifiers (imei: ..., android_id: ...), to find them hashed",
    )
    add_iocs_option(traffic, "the destinations")

    changes = commands["diff"] = sub.add_parser(
        "diff", help="what changed between two versions of an app (apps, or saved JSON / JSON Lines results)"
    )
    changes.add_argument("old", help="the earlier version: an app, or a techvet scan --format json result")
    changes.add_argument("new", help="the later version")
    _common(changes, REPORT_FORMATS)
    changes.add_argument(
        "--fail-on",
        metavar="LEVEL",
        help="exit 1 when the update adds a finding at least this severe (info ... critical), or when the new "
        "verdict is at least warn or fail; never: exit 0 (the default)",
    )
    changes.add_argument("--policy", metavar="FILE", help="app policy for the verdicts (default: app_policy.yaml)")

    screen = commands["screen"] = sub.add_parser(
        "screen",
        help="screen companies (a CSV, XLSX or JSON party file, or names) against restriction and ban lists",
        description="Exit codes: 0 nothing to review, 1 possible matches or Xinjiang exposure (--fail-on), "
        "2 unreadable input (some rows or the whole file) or nothing to screen.",
    )
    screen.add_argument(
        "file", nargs="?", help="party file: CSV (any delimiter; UTF-8, GBK ...), XLSX or JSON; - reads CSV from stdin"
    )
    screen.add_argument("-n", "--name", action="append", default=[], help="screen this name (repeatable)")
    screen.add_argument(
        "--names-from", metavar="FILE", help="screen the names in FILE, one per line (- for standard input)"
    )
    screen.add_argument("--country", help="with --name or --names-from: the parties' country (ISO 3166 alpha-2)")
    _common(screen, TABLE_FORMATS)
    screen.add_argument(
        "--fail-on",
        metavar="LEVEL",
        default="match",
        help="exit 1 on: match (any possible match or Xinjiang exposure, the default), a score such as 0.95 "
        "(a match at least that close, or exposure), or never",
    )
    screen.add_argument("--threshold", type=float, default=None, help="lowest score reported (default 0.80)")
    screen.add_argument("--columns", help="map columns techvet does not recognise: name=Firmenname,country=Land")
    screen.add_argument("--include-people", action="store_true", help="also screen against listed people")
    screen.add_argument(
        "-j",
        "--jobs",
        type=int,
        default=1,
        metavar="N",
        help="screen blocks of rows on N worker processes, each with its own index (default 1: in this process; "
        "0: one per core); for files of millions of rows",
    )
    _cluster_option(screen, "the screening, in blocks of rows,")

    fleet = commands["fleet"] = sub.add_parser(
        "fleet",
        help="decide per drone of an inventory (CSV, XLSX, JSON): ground, restrict, review or allow, with the rule",
        description="Exit codes: 0 every device allowed, 1 a device at or above --fail-on (default review), "
        "2 unreadable rows or no devices.",
    )
    fleet.add_argument("file", help="inventory: make, model, serial, firmware, unit, companion app, components")
    _common(fleet, ("text", "json", "csv", "html"))
    fleet.add_argument(
        "--fail-on",
        metavar="DECISION",
        default="review",
        help="exit 1 when a device is decided at least this strictly: review (the default), restrict, ground; never",
    )
    fleet.add_argument("--policy", metavar="FILE", help="fleet policy (default: US federal rules, fleet_policy.yaml)")
    fleet.add_argument("--columns", help="map columns: model=Aircraft,make=Brand,camera_maker=Camera OEM")
    fleet.add_argument("--apps", metavar="FOLDER", help="folder of companion APKs to scan and attach by package id")
    fleet.add_argument(
        "--app-policy", metavar="FILE", help="app policy the companion apps are judged by (default: app_policy.yaml)"
    )

    whois = commands["whois"] = sub.add_parser(
        "whois",
        help="who owns a host or IP, which network it is on, in which country: offline, with sources",
        description="Takes host names, IP addresses, URLs and host:port; what names none of them is an error "
        "for that input (exit 2), and the others are still answered.",
    )
    whois.add_argument("targets", nargs="*", metavar="HOST_OR_IP", help="hosts, IPs or URLs; - reads standard input")
    whois.add_argument("--from", dest="from_file", metavar="FILE", help="one input per line from FILE (- for stdin)")
    _common(whois, TABLE_FORMATS)

    lists = commands["lists"] = sub.add_parser("lists", help="the bundled restriction and ban lists")
    lists.add_argument(
        "action",
        choices=("show", "update"),
        help="show: what is in use, counts, dates, staleness; update: download the lists from their authorities",
    )
    _common(lists, TABLE_FORMATS)

    iocs = commands["iocs"] = sub.add_parser(
        "iocs",
        help="indicators of known surveillance tools (spyware, stalkerware) that apps and captures are matched with",
    )
    iocs.add_argument(
        "action",
        choices=("show", "update"),
        help="show: sources, families, counts, dates, what is not checked; update: fetch the public sources again",
    )
    _common(iocs, TABLE_FORMATS)
    add_iocs_option(iocs, "(show the index a run with them would use)")

    rules = commands["rules"] = sub.add_parser("rules", help="list every rule: id, severity, category and title")
    _common(rules, TABLE_FORMATS)
    rules.add_argument(
        "--sdks",
        action="store_true",
        help="list the SDK catalogue instead: each SDK's maker, country, packages and source, with counts and licences",
    )
    explain = commands["explain"] = sub.add_parser(
        "explain", help="explain a rule or a policy line: what it catches, why it matters, its sources"
    )
    explain.add_argument("rule_id", help="a rule id such as TV201, or a policy line such as APP-SIDELOAD")
    _common(explain, ("text", "json"))
    query = commands["query"] = sub.add_parser(
        "query",
        help="ask a dataset written by scan --format parquet in SQL (DuckDB): apps, sdks, capabilities, "
        "destinations, findings, verdicts",
        description="Each table is a view under its name, joined by sha256 (docs/dataset.md). The query can read "
        "the dataset and nothing else. Exit codes: 0 rows or none, 2 a bad query or not a dataset.",
    )
    query.add_argument("dataset", metavar="DIR", help="the dataset folder")
    query.add_argument("sql", metavar="SQL", help='the query, e.g. "select count(*) from apps"')
    _common(query, TABLE_FORMATS)
    from techvet.server.command import add_parsers

    add_parsers(sub, commands)
    return parser, commands


def _parse(argv: list[str] | None) -> tuple[argparse.Namespace, argparse.ArgumentParser]:
    """The arguments, and the parser of the command they are for (its help is where errors point)."""
    parser, commands = _build_parser()
    args, extra = parser.parse_known_args(argv)
    command = commands[args.command]
    if extra:
        command.error(f"unrecognized arguments: {' '.join(extra)}")
    return args, command


def _scan(args: argparse.Namespace) -> int:
    from techvet.bulk import render_many
    from techvet.errors import NothingToAnalyseError
    from techvet.many import chosen_cluster
    from techvet.report import opened_output
    from techvet.report.progress import Feedback
    from techvet.report.terminal import colored_report
    from techvet.verdict import AppPolicy, FailOn, tally

    fail_on = FailOn.parse(args.fail_on)
    if args.policy is not None:
        AppPolicy.load(args.policy)  # a bad policy is one error line before any app is read
    from techvet.knowledge import load

    load()  # so is a bad knowledge file (TECHVET_KNOWLEDGE_DIR): once, not once per app
    from techvet.iocs.command import chosen_index

    indicators = chosen_index(args.iocs)  # and a bad --iocs bundle
    if args.jobs < 0:
        raise UsageError("--jobs must be 0 (one per core) or more")
    cluster = chosen_cluster(args.cluster)
    targets, total = _scan_targets(args.paths, args.column)
    several = total is None or total > 1
    if args.traffic and several:
        raise UsageError("--traffic goes with one app: a capture shows one app's traffic, not a folder's")
    feedback = Feedback(args.quiet)
    if args.format == "parquet":
        from techvet.dataset.command import scan_to_dataset

        return scan_to_dataset(args, targets, total, cluster, feedback, indicators)
    if args.format == "html" and several:
        return _html_folder(args, targets, total, cluster, feedback, indicators)
    traffic = None
    bad_captures = 0
    if args.traffic:
        from techvet.errors import InputError
        from techvet.traffic import analyze
        from techvet.traffic.correlate import observed

        results = []
        for capture in args.traffic:
            try:
                results.append(analyze(capture, indicators=indicators))
            except InputError as exc:  # an unreadable capture is one line: the app is still reported
                print(f"techvet: {exc}", file=sys.stderr)
                bad_captures += 1
                continue
            for warning in results[-1].stats.warnings:
                feedback.warn(f"{capture}: {warning}")
        traffic = observed(results)
    color = colored_report(args.format, args.output)
    failed = unreadable = incomplete = seen = 0
    verdicts: list[str | None] = []
    runs = []  # SARIF: one log holding a run per app
    with opened_output(args.output) as out:
        rendered = render_many(
            targets, args.format, args.verbose, args.jobs, traffic, args.policy, color, cluster, indicators
        )
        for item in feedback.track(rendered, "scanning apps", total if several else None):
            seen += 1
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
            verdicts.append(item.verdict)
            if fail_on.reached(item.max_severity, item.verdict):
                failed += 1
        if args.format == "sarif":
            from techvet.report.sarif import wrap

            out.write(wrap(runs) + "\n")
    if unreadable < seen:  # some answer came from the lists
        warn_if_stale(feedback)
    if several and not args.quiet:
        print(
            f"techvet: {seen} apps: {tally(verdicts)}; {unreadable} unreadable, "
            f"{incomplete} incomplete{'; ' + str(failed) + ' reach --fail-on' if args.fail_on else ''}",
            file=sys.stderr,
        )
    if not seen:  # a list that names no app: never an empty pass
        raise NothingToAnalyseError(f"{', '.join(args.paths)}: names no app")
    if unreadable or incomplete or bad_captures:
        return 2
    return 1 if failed else 0


def _scan_targets(paths: list[str], column: str | None) -> tuple[Any, int | None]:
    """The apps ``paths`` name, as a stream (folders walked and lists read as the scan goes), and
    how many there are (None when a list names them: it is not read twice)."""
    from itertools import chain

    from techvet.errors import NothingToAnalyseError
    from techvet.ios.reader import is_ios_app
    from techvet.many.sources import count, entries, is_list, is_url, walk
    from techvet.reading import APP_SUFFIXES

    parts: list[Any] = []
    counts: list[int | None] = []  # apps each path names; None: a list's, not known before it is read
    for p in paths:
        if is_list(p):
            parts.append(entries(p, column))
            counts.append(None)
        elif os.path.isdir(p) and not is_ios_app(p):
            found = count(p, APP_SUFFIXES)
            if not found:
                raise NothingToAnalyseError(
                    f"{p}: no apps in this folder (looked for .apk, .xapk, .apks, .apkm, .dex, .ipa)"
                )
            parts.append(walk(p, APP_SUFFIXES))
            counts.append(found)
        elif is_url(p) or os.path.exists(p):
            parts.append([p])
            counts.append(1)
        else:
            raise TechvetError(f"{p}: no such file or folder")
    total = None if None in counts else sum(c for c in counts if c is not None)
    if total == 1:
        return list(chain.from_iterable(parts)), 1
    return chain.from_iterable(parts), total


def _html_folder(
    args: argparse.Namespace, targets: Any, total: int | None, cluster: str | None, feedback: Any, indicators: Any
) -> int:
    """Many apps as HTML: a page per app and a sortable index, in the folder given with -o."""
    from pathlib import Path

    from techvet.bulk import render_many
    from techvet.errors import NothingToAnalyseError
    from techvet.report.html_index import page_name, write_index
    from techvet.verdict import FailOn

    if not args.output:
        raise UsageError("--format html for several apps writes a folder: give it with -o FOLDER")
    fail_on = FailOn.parse(args.fail_on)
    folder = Path(args.output)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise TechvetError(f"{folder}: cannot create ({exc.strerror})") from None
    rows: list[dict[str, Any]] = []
    unreadable: list[str] = []
    used: set[str] = set()
    failed = incomplete = 0
    rendered = render_many(targets, "html", False, args.jobs, None, args.policy, cluster=cluster, indicators=indicators)
    for item in feedback.track(rendered, "scanning apps", total):
        if not item.ok:
            unreadable.append(Path(item.path).name)
            print(f"techvet: {item.output}", file=sys.stderr)
            continue
        name = page_name(item.path, used)
        (folder / name).write_text(item.output, encoding="utf-8")
        rows.append({"page": name, **(item.summary or {})})
        failed += fail_on.reached(item.max_severity, item.verdict)
        for err in item.errors:  # the page is written; the scan behind it is not whole
            incomplete += 1
            print(f"techvet: {item.path}: incomplete scan: {err}", file=sys.stderr)
    if not rows and not unreadable and not incomplete:
        raise NothingToAnalyseError(f"{', '.join(args.paths)}: names no app")
    write_index(folder, rows, unreadable)
    if rows:
        warn_if_stale(feedback)
    if not args.quiet:
        print(f"techvet: {len(rows)} app pages and index.html written to {folder}", file=sys.stderr)
    return 2 if unreadable or incomplete else 1 if failed else 0


def _diff(args: argparse.Namespace) -> int:
    import json

    from techvet.diff import diff, load_side, render_text
    from techvet.findings import Severity
    from techvet.report import write_report
    from techvet.report.progress import Feedback
    from techvet.verdict import AppPolicy, FailOn

    fail_on = FailOn.parse(args.fail_on)
    if args.policy is not None:
        AppPolicy.load(args.policy)  # checked before either side is scanned
    old, new = load_side(args.old, args.policy), load_side(args.new, args.policy)
    changes = diff(old, new)
    if args.format == "json":
        text = json.dumps(changes, ensure_ascii=False, indent=1) + "\n"
    elif args.format == "md":
        from techvet.report.markdown import md

        text = "".join(f"- {md(line)}\n" for line in render_text(changes, args.verbose).splitlines())
    elif args.format == "html":
        from techvet.report.html import render_diff

        text = render_diff(changes)
    elif args.format == "sarif":
        from techvet.report.sarif import diff_run, wrap

        text = wrap([json.dumps(diff_run(old, new), ensure_ascii=False)]) + "\n"
    else:
        text = render_text(changes, args.verbose)
    write_report(text, args.output)
    warn_if_stale(Feedback(args.quiet))
    worst = max((Severity.parse(f["severity"]) for f in changes["findings_added"]), default=None)
    new_verdict = (changes["verdict"]["new"] or {}).get("verdict")
    return 1 if fail_on.reached(worst, new_verdict) else 0


def _whois(args: argparse.Namespace) -> int:
    from techvet.errors import NothingToAnalyseError
    from techvet.place import attribute
    from techvet.place.targets import TargetError, shown_query, target
    from techvet.report import write_report
    from techvet.report.whois import render
    from techvet.tables import read_lines, source_name

    inputs = [t for t in args.targets if t != "-"]
    for source in (["-"] if "-" in args.targets else []) + ([args.from_file] if args.from_file else []):
        lines = read_lines(source)
        if not lines:
            raise NothingToAnalyseError(f"{source_name(source)}: holds no host or IP")
        inputs += lines
    if not inputs:
        raise UsageError("give hosts, IPs or URLs, or --from FILE (- reads them from standard input)")
    answers: list[tuple[str, Any]] = []
    bad = 0
    for text in inputs:
        try:
            answers.append((shown_query(text), attribute(target(text))))
        except TargetError as exc:
            bad += 1
            answers.append((shown_query(text), str(exc)))
            print(f"techvet: {shown_query(text)!r}: {exc}", file=sys.stderr)
    write_report(render(answers, args.format, args.verbose), args.output)
    return 2 if bad else 0


def _rules(args: argparse.Namespace) -> int:
    import json

    from techvet.knowledge import load
    from techvet.policy_docs import policy_lines
    from techvet.report import write_report

    if args.sdks:
        return _sdk_catalogue(args)
    rules = list(load().rules.values())
    lines = policy_lines()
    if args.format == "csv":
        import io

        from techvet.spreadsheet import csv_writer

        buffer = io.StringIO()
        writer = csv_writer(buffer)
        writer.writerow(["id", "kind", "severity_or_effect", "category_or_policy", "title_or_why"])
        writer.writerows([r.id, "rule", str(r.severity), r.category, r.title] for r in rules)
        writer.writerows([x["id"], "policy line", x["effect"], x["file"], x["why"]] for x in lines)
        write_report(buffer.getvalue(), args.output)
        return 0
    if args.format == "json":
        doc = {
            "rules": [
                {"id": r.id, "name": r.name, "severity": str(r.severity), "category": r.category, "title": r.title}
                for r in rules
            ],
            "policy_lines": [{"id": x["id"], "effect": x["effect"], "why": x["why"], "file": x["file"]} for x in lines],
        }
        write_report(json.dumps(doc, ensure_ascii=False, indent=1) + "\n", args.output)
        return 0
    out = [
        f"{r.id}  {r.severity!s:8}  {r.category:14}  {r.title}" + (f"\n      {r.what}" if args.verbose else "")
        for r in rules
    ]
    out.append("\npolicy lines of the default policies (app_policy.yaml, fleet_policy.yaml; yours may differ)")
    out += [f"{line['id']:26}  {line['effect']:8}  {line['why']}" for line in lines]
    write_report("\n".join(out) + "\n", args.output)
    return 0


def _sdk_catalogue(args: argparse.Namespace) -> int:
    """``techvet rules --sdks``: the catalogue an SDK finding (or its absence) rests on."""
    from techvet.knowledge import load
    from techvet.knowledge.catalogue import sdk_rows, summary
    from techvet.report import write_report
    from techvet.report.catalogue import render

    kb = load()
    write_report(render(sdk_rows(kb), summary(kb), args.format, args.verbose), args.output)
    return 0


def _explain(args: argparse.Namespace) -> int:
    import json

    from techvet.knowledge import load
    from techvet.report import write_report

    rule = load().rules.get(args.rule_id.strip().upper())
    if rule is None:
        from techvet.policy_docs import explain_line

        text = explain_line(args.rule_id)
        if text is None:
            raise UsageError(f"no rule or policy line {args.rule_id!r} (techvet rules lists them)")
        if args.format == "json":
            write_report(json.dumps({"id": args.rule_id.upper(), "text": text}, ensure_ascii=False) + "\n", args.output)
        else:
            write_report("\n".join(text) + "\n", args.output)
        return 0
    if args.format == "json":
        doc = {
            "id": rule.id,
            "name": rule.name,
            "title": rule.title,
            "severity": str(rule.severity),
            "category": rule.category,
            "what": rule.what,
            "why": rule.why,
            "refs": list(rule.refs),
            "source": rule.source,
            "as_of": rule.as_of,
        }
        write_report(json.dumps(doc, ensure_ascii=False, indent=1) + "\n", args.output)
        return 0
    out = [f"{rule.id} {rule.name}: {rule.title}", f"severity: {rule.severity}   category: {rule.category}"]
    out += [f"\nWhat it catches\n  {rule.what}", f"\nWhy it matters\n  {rule.why}"]
    if rule.refs:
        out.append("\nReferences")
        out += [f"  {ref}" for ref in rule.refs]
    out.append(f"\nKnowledge source: {rule.source} (as of {rule.as_of})")
    write_report("\n".join(out) + "\n", args.output)
    return 0


def run(argv: list[str] | None = None) -> int:
    """Run the command line with ``argv``; return the exit code."""
    args, command = _parse(argv)
    try:
        return _dispatch(args)
    except UsageError as exc:
        raise UsageError(f"{exc} (see {command.prog} --help)") from None


def _dispatch(args: argparse.Namespace) -> int:
    if args.command == "scan":
        return _scan(args)
    if args.command == "traffic":
        from techvet.traffic.command import run_traffic

        return run_traffic(args)
    if args.command == "diff":
        return _diff(args)
    if args.command == "screen":
        from techvet.screen.command import run_screen

        return run_screen(args)
    if args.command == "fleet":
        from techvet.fleet.command import run_fleet

        return run_fleet(args)
    if args.command == "whois":
        return _whois(args)
    if args.command == "lists":
        from techvet.screen.command import show_lists, update

        return show_lists(args) if args.action == "show" else update(args)
    if args.command == "rules":
        return _rules(args)
    if args.command == "iocs":
        from techvet.iocs.command import run_iocs

        return run_iocs(args)
    if args.command == "query":
        from techvet.dataset.command import run_query_command

        return run_query_command(args)
    if args.command in ("serve", "db", "users", "tokens"):
        from techvet.server.command import run as run_service

        return run_service(args)
    return _explain(args)


def _error(message: str, code: int = 2) -> int:
    print(f"techvet: {message}", file=sys.stderr)
    return code


class _PipeSafe:
    """Standard output (or error) that swallows a closed pipe: ``techvet screen -n DJI | head -1``
    must exit with the code the run earns (1: a possible match), not lose it to BrokenPipeError.
    Output after the reader went away is dropped; the run finishes and decides."""

    def __init__(self, stream: Any) -> None:
        self._stream = stream
        self.broken = False

    def write(self, text: str) -> int:
        if not self.broken:
            try:
                return int(self._stream.write(text))
            except BrokenPipeError:
                self._broke()
        return len(text)

    def flush(self) -> None:
        if not self.broken:
            try:
                self._stream.flush()
            except BrokenPipeError:
                self._broke()

    def _broke(self) -> None:
        self.broken = True
        # later flushes (and the interpreter's own at exit) go nowhere instead of raising again
        devnull = os.open(os.devnull, os.O_WRONLY)
        try:
            os.dup2(devnull, self._stream.fileno())
        except (OSError, ValueError):
            pass
        finally:
            os.close(devnull)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


def main(argv: list[str] | None = None) -> None:
    """Console entry point: run, turning every error into one line."""
    sys.stdout = _PipeSafe(sys.stdout)
    sys.stderr = _PipeSafe(sys.stderr)  # `techvet ... 2>&1 | head` too
    try:
        code = run(argv)
    except TechvetError as exc:
        code = _error(str(exc))
    except KeyboardInterrupt:
        code = 130
    except BrokenPipeError:  # a pipe closed under a write the wrappers did not see
        code = 2
    except OSError as exc:  # an output that cannot take what is written (a full disk, /proc)
        code = _error(f"cannot write {exc.filename or 'the output'}: {exc.strerror or exc}")
    except Exception as exc:  # noqa: BLE001 - the edge: a bug in techvet, reported without a traceback
        code = _error(f"internal error: {type(exc).__name__}: {exc}", 3)
    sys.exit(code)


if __name__ == "__main__":
    main()
