#!/usr/bin/env python3
"""Rebuild techvet's Exodus tracker data file from the Exodus Privacy list.

    python tools/build_exodus.py ../shared/knowledge/exodus/trackers.json

Exodus code signatures are regular expressions searched anywhere in a class name (the source of
Exodus's known false positives: ``com.dv`` also matches ``com.dvtech``). techvet keeps only the
signatures that are plain package names and matches them on whole package segments; the few that
are real regular expressions are listed in ``skipped_signatures`` so nothing is dropped silently.
"""

import json
import re
import sys
from pathlib import Path

OUT = Path(__file__).resolve().parent.parent / "src/techvet/knowledge/data/exodus_trackers.json"
PLAIN = re.compile(r"^[A-Za-z0-9_]+(\.[A-Za-z0-9_]+)*$")


def prefixes(signature: str) -> tuple[list[str], list[str]]:
    ok, skipped = [], []
    for part in filter(None, (p.strip() for p in signature.split("|"))):
        cleaned = part.replace("\\.", ".").strip(".")
        if PLAIN.match(cleaned) and "." in cleaned:
            ok.append(cleaned)
        else:
            skipped.append(part)
    return sorted(set(ok)), skipped


def main(src: str) -> None:
    data = json.loads(Path(src).read_text(encoding="utf-8"))
    out = []
    for t in sorted(data["trackers"].values(), key=lambda t: t["id"]):
        pre, skipped = prefixes(t.get("code_signature") or "")
        entry = {
            "id": f"exodus-{t['id']}",
            "name": t["name"],
            "prefixes": pre,
            "network_signature": t.get("network_signature") or "",
            "categories": t.get("categories") or [],
            "website": t.get("website") or "",
        }
        if skipped:
            entry["skipped_signatures"] = skipped
        out.append(entry)
    doc = {
        "source": "Exodus Privacy tracker list (ETIP), https://reports.exodus-privacy.eu.org/api/trackers "
        "(the copy MobSF ships, of 2025-08-30)",
        "as_of": "2025-08-30",
        "licence": "Open Database License 1.0 (ODbL); contents under the Database Contents License (DbCL). "
        "Attribution: Exodus Privacy (exodus-privacy.eu.org). This derived database is shared under the ODbL.",
        "trackers": out,
    }
    OUT.write_text(json.dumps(doc, ensure_ascii=False, indent=0) + "\n", encoding="utf-8")
    print(f"{len(out)} trackers -> {OUT}")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "../shared/knowledge/exodus/trackers.json")
