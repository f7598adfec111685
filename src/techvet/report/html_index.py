"""The bulk HTML report: one page per app and an index over them (``techvet scan DIR -f html -o OUT``).

The index is sortable without a script (the report forbids scripts): it is written three times,
sorted by risk score, by app and by verdict, and the column headers link between the three.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def page_name(path: str, used: set[str]) -> str:
    """A file name for an app's page: safe characters only, unique within the folder.

    A page whose name would start like an index page gets an ``app-`` prefix, so it can never be
    taken for (or overwrite) one; the prefix, not a number, is what makes it differ, so the
    search for a free name always ends (an app called ``index.apk`` once made it loop forever).
    """
    stem = _UNSAFE.sub("_", Path(path).name)[:80] or "app"
    if stem.startswith("index"):
        stem = f"app-{stem}"
    name, n = f"{stem}.html", 2
    while name in used:
        name, n = f"{stem}-{n}.html", n + 1
    used.add(name)
    return name


def write_index(folder: Path, rows: list[dict[str, Any]], unreadable: list[str]) -> None:
    from techvet.report.html import environment

    template = environment().get_template("index.html.j2")
    order = {"fail": 0, "warn": 1, "pass": 2}
    counts = {v: sum(1 for r in rows if r["verdict"] == v) for v in ("fail", "warn", "pass")}
    summary = ", ".join(f"{n} {v}" for v, n in counts.items()) + (
        f", {len(unreadable)} unreadable" if unreadable else ""
    )
    for file_name, label, key in (
        ("index.html", "risk score", lambda r: (-r["score"], str(r["title"]).lower())),
        ("index-by-app.html", "app", lambda r: str(r["title"]).lower()),
        ("index-by-verdict.html", "verdict", lambda r: (order[r["verdict"]], -r["score"])),
    ):
        html = template.render(
            count=len(rows), rows=sorted(rows, key=key), sorted_by=label, summary=summary, unreadable=unreadable
        )
        (folder / file_name).write_text(html, encoding="utf-8")


__all__ = ["page_name", "write_index"]
