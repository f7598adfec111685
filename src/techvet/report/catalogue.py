"""``techvet rules --sdks`` as text, CSV or JSON: the SDK catalogue with its size, sources and licences."""

from __future__ import annotations

import io
import json
from typing import Any

from rich.cells import cell_len, set_cell_size

from techvet.spreadsheet import csv_writer


def _cut(text: str, width: int) -> str:
    """``text`` in exactly ``width`` terminal columns (a Chinese character takes two), with an
    ellipsis where it was cut (never silently short)."""
    if cell_len(text) > width:
        text = set_cell_size(text, width - 1) + "…"
    return set_cell_size(text, width)


def _short(source: str) -> str:
    """A source's first words: "Exodus Privacy", "LibRadar", "hand-curated"."""
    return source.split(" (")[0]


def render(rows: list[dict[str, Any]], counts: dict[str, Any], fmt: str, verbose: bool = False) -> str:
    """The catalogue listing in ``fmt`` (text, csv or json); text leads with the counts a reader quotes."""
    if fmt == "json":
        return json.dumps({"summary": counts, "sdks": rows}, ensure_ascii=False, indent=1) + "\n"
    if fmt == "csv":
        buffer = io.StringIO()
        writer = csv_writer(buffer)
        writer.writerow(["id", "name", "vendor", "country", "category", "prefixes", "components", "source"])
        for r in rows:
            prefixes = " ".join(r["prefixes"])
            writer.writerow(
                [
                    r["id"],
                    r["name"],
                    r["vendor"] or "",
                    r["country"] or "",
                    r["category"],
                    prefixes,
                    r["components"],
                    r["source"],
                ]
            )
        return buffer.getvalue()
    top = ", ".join(f"{c} {n}" for c, n in list(counts["by_country"].items())[:8])
    out = [
        f"{counts['sdks']} SDKs, {counts['with_vendor']} with a known maker, {counts['with_country']} with its country "
        f"({top}); {counts['manifest_components']} manifest components name an SDK; "
        f"{counts['open_source_and_platform_packages']} open-source and platform packages are never an SDK",
        "sources: " + "; ".join(f"{name}: {n}" for name, n in counts["by_source"].items()),
        "licences: " + "; ".join(f"{name}: {text}" for name, text in counts["licences"].items()),
        "",
    ]
    out.append(f"{'id':30}  {'name':34}  {'maker (country)':42}  packages; source")
    for r in rows:
        maker = f"{r['vendor'] or 'maker unknown'}" + (f" ({r['country']})" if r["country"] else "")
        packages = ", ".join(r["prefixes"][:3]) + (" ..." if len(r["prefixes"]) > 3 else "")
        if r["components"]:
            many = "components" if r["components"] != 1 else "component"
            packages += f"{'; ' if packages else ''}{r['components']} manifest {many}"
        line = (
            f"{_cut(r['id'], 30):30}  {_cut(r['name'], 34):34}  {_cut(maker, 42):42}  {packages}; {_short(r['source'])}"
        )
        out.append(line + (f"\n      {r['category']}; source: {r['source']}" if verbose else ""))
    return "\n".join(out) + "\n"


__all__ = ["render"]
