"""``techvet iocs show`` and ``techvet iocs update``: the indicators of known surveillance tools in use.

``show`` says where the index is read from, each source with its version, date and licence, and
per family how many indicators of each kind it has and how many techvet leaves out and why (a
file path on a phone, a public suffix): what a scan compares an app with, and what it does not.
With ``--iocs FILE`` it shows the index a run with those bundles would use.
"""

from __future__ import annotations

import argparse
import json
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from techvet.iocs.index import IndicatorIndex

_SHORT = {
    "app_id": "apps",
    "cert_sha1": "cert SHA-1s",
    "cert_sha256": "cert SHA-256s",
    "file_sha256": "files",
    "domain": "hosts",
    "ip": "ips",
}


def add_iocs_option(parser: argparse.ArgumentParser, what: str) -> None:
    """--iocs, the same wherever indicators are matched (scan, traffic, serve, iocs show)."""
    parser.add_argument(
        "--iocs",
        action="append",
        default=[],
        metavar="FILE",
        help=f"a STIX 2.1 indicator bundle (as MVT reads) to match {what} against too, with the bundled "
        "indicators of known surveillance tools (repeatable)",
    )


def chosen_index(paths: list[str]) -> IndicatorIndex | None:
    """The index a run uses: None (the one in use, read where it is needed) without ``--iocs``; with
    it, that index and the bundles together. Either is read here, so a damaged index or a bad
    bundle is one line before any work, not an incomplete scan per app."""
    from techvet.iocs.installed import installed_index, with_bundles

    if not paths:
        installed_index()  # read now for its errors; the workers read it themselves
        return None
    return with_bundles(paths)


def family_rows(index: IndicatorIndex) -> list[dict[str, Any]]:
    from techvet.iocs.index import KINDS

    counts = index.counts()
    rows = []
    for n, family in enumerate(index.families):
        mine = counts.get(n, {})
        rows.append(
            {
                "family": family.name,
                "kind": family.kind,
                "source": family.source,
                "date": family.date,
                "licence": family.licence,
                "indicators": {k: mine[k] for k in (*KINDS, "combined") if mine.get(k)},
                "not_checked": dict(sorted(index.not_checked.get(n, {}).items())),
                "reports": list(family.refs),
            }
        )
    return rows


def show(args: argparse.Namespace) -> int:
    from techvet.iocs.index import KINDS
    from techvet.iocs.installed import index_folder, installed_document, installed_index
    from techvet.report import opened_output

    index = chosen_index(args.iocs) or installed_index()
    doc = installed_document()
    rows = family_rows(index)
    with opened_output(args.output) as out:
        if args.format == "json":
            whole = {"folder": str(index_folder()), "source": doc["source"], "as_of": doc["as_of"]}
            out.write(json.dumps({**whole, "sources": index.sources, "families": rows}, ensure_ascii=False, indent=1))
            out.write("\n")
            return 0
        if args.format == "csv":
            from techvet.spreadsheet import csv_writer

            writer = csv_writer(out)
            writer.writerow(["family", "kind", "source", "date", "licence", *KINDS, "not_checked"])
            for r in rows:
                skipped = "; ".join(f"{k} {v}" for k, v in r["not_checked"].items())
                counts = [r["indicators"].get(k, 0) for k in KINDS]
                writer.writerow([r["family"], r["kind"], r["source"], r["date"], r["licence"], *counts, skipped])
            return 0
        out.write(f"indicators in use: {index_folder()} ({doc['source']}, as of {doc['as_of']})\n\n")
        for s in index.sources:
            version = f" at {s['commit'][:12]}" if s.get("commit") else ""
            dated = f" ({s['date']})" if s.get("date") else ""
            out.write(f"  {s.get('id', '?')}{version}{dated}  licence {s.get('licence', '?')}  {s.get('home', '')}\n")
        total = sum(sum(r["indicators"].values()) for r in rows)
        out.write(f"\n{len(rows)} families, {total} indicators\n")
        out.write(f"{'family':28} {'kind':17} {'source':22} {'date':10}  indicators\n")
        for r in rows:
            shown = ", ".join(f"{v} {_SHORT.get(k, k)}" for k, v in r["indicators"].items()) or "none techvet checks"
            name, kind, source = r["family"][:28], r["kind"][:17], r["source"][:22]
            out.write(f"{name:28} {kind:17} {source:22} {r['date'][:10]:10}  {shown}\n")
            if r["not_checked"]:
                skipped = ", ".join(f"{v} {k}" for k, v in r["not_checked"].items())
                out.write(f"{'':81}  not checked: {skipped}\n")
            if args.verbose and r["reports"]:
                out.write(f"{'':81}  reports: {' '.join(r['reports'][:3])}\n")
        out.write(
            "\nNot checked: indicators about a phone rather than an app (file paths, processes, e-mail "
            "addresses, profiles), and values that would match unrelated apps; -v adds each family's reports.\n"
        )
    return 0


def update(args: argparse.Namespace) -> int:
    """Exit 0 when every source was refreshed, 2 when one kept its indicators in use (each says why)."""
    from techvet.iocs.update import update_iocs
    from techvet.report import say_update

    report = update_iocs()
    installed = f"index installed: {report.folder}" if report.folder is not None else None
    return say_update(report.updated, report.kept, "indicators", installed)


def run_iocs(args: argparse.Namespace) -> int:
    return show(args) if args.action == "show" else update(args)


__all__ = ["add_iocs_option", "chosen_index", "family_rows", "run_iocs"]
