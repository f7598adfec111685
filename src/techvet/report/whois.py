"""``techvet whois`` output: each input's attribution (or why it names no host) as text, JSON or CSV.

The three facts of an attribution stay apart here as everywhere: the owner of the name, the
registry of its top-level domain, the network an address is on and who runs it.
"""

from __future__ import annotations

import io
import json
from typing import Any

from techvet.place import PLACE_KEYS, Attribution
from techvet.spreadsheet import csv_writer

CSV_COLUMNS = ("query", "input", "kind", *PLACE_KEYS, "error")  # query: as typed; input: the host or IP it names


def render(answers: list[tuple[str, Attribution | str]], fmt: str, verbose: bool = False) -> str:
    """``answers``: each input with its attribution, or the reason (a string) it names no host."""
    if fmt == "json":
        docs = [
            {"query": text, **a.to_dict()} if isinstance(a, Attribution) else {"query": text, "input": None, "error": a}
            for text, a in answers
        ]
        return json.dumps(docs, ensure_ascii=False, indent=1) + "\n"
    if fmt == "csv":
        buffer = io.StringIO()
        writer = csv_writer(buffer)
        writer.writerow(CSV_COLUMNS)
        for text, a in answers:
            if isinstance(a, Attribution):
                doc = a.to_dict()
                writer.writerow([text, a.input, a.kind, *(_cell(doc[k]) for k in PLACE_KEYS), ""])
            else:
                writer.writerow([text, "", "", *([""] * len(PLACE_KEYS)), a])
        return buffer.getvalue()
    if not any(isinstance(a, Attribution) for _, a in answers):
        return ""  # every input was refused, each said on stderr
    out = ["offline attribution: no name is resolved and no service is asked"]
    for text, a in answers:
        if not isinstance(a, Attribution):
            continue  # said on stderr, with the reason
        shown = text if text == a.input else f"{text} ({a.input})"
        out.append(f"\n{shown}")
        rows: list[tuple[str, Any]] = [
            ("registrable domain", a.registrable_domain),
            ("owner", a.owner),
            ("parent", a.parent),
            ("owner country", a.owner_country),
        ]
        if a.kind == "host":
            rows.append(("name registry", a.registry_country))
        else:
            rows += [
                ("network", f"AS{a.asn} {a.network or ''}".rstrip() if a.asn else None),
                ("network owner", f"{a.network_owner} ({a.network_owner_country})" if a.network_owner else None),
            ]
        rows.append(("server country", a.server_country))
        out += [f"  {label:19} {value if value is not None else 'unknown'}" for label, value in rows]
        out += [f"  because            {reason}" for reason in a.reasons]
        if verbose:
            out += [f"  source             {s['name']} (as of {s['as_of']}): {s['source']}" for s in a.sources]
    if not verbose:
        out.append("\n-v shows the sources of every fact.")
    return "\n".join(out) + "\n"


def _cell(value: Any) -> str:
    return "" if value is None else str(value)


__all__ = ["render"]
