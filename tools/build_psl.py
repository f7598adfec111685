#!/usr/bin/env python3
"""Rebuild techvet's copy of the Public Suffix List as JSON (rules, wildcards, exceptions).

    python tools/build_psl.py PATH/TO/public_suffix_list.dat   (the publicsuffixlist package ships one)

Why a JSON copy and not the library at run time: parsing the list costs about 35 ms per process, a
JSON set loads in a few milliseconds, and registrable-domain lookup is a dozen lines (place/_psl.py).
"""

import json
import sys
from pathlib import Path

OUT = Path(__file__).resolve().parent.parent / "src/techvet/knowledge/data/psl.json"


def main(src: str) -> None:
    rules, wildcards, exceptions = [], [], []
    for raw in Path(src).read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith("//"):
            continue
        rule = line.split()[0].lower()
        if rule.startswith("!"):
            exceptions.append(rule[1:])
        elif rule.startswith("*."):
            wildcards.append(rule[2:])
        else:
            rules.append(rule)
    doc = {
        "source": "Public Suffix List (publicsuffix.org), the copy shipped in the publicsuffixlist package",
        "as_of": "2026-10-23",
        "licence": "MPL-2.0 (Public Suffix List)",
        "rules": sorted(set(rules)),
        "wildcards": sorted(set(wildcards)),
        "exceptions": sorted(set(exceptions)),
    }
    OUT.write_text(json.dumps(doc, ensure_ascii=False, separators=(",", ":")) + "\n", encoding="utf-8")
    print(f"{len(rules)} rules, {len(wildcards)} wildcards, {len(exceptions)} exceptions -> {OUT}")


if __name__ == "__main__":
    main(sys.argv[1])
