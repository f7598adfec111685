#!/usr/bin/env python3
"""Rebuild techvet's domain-owner table from v2fly's domain lists.

    python tools/build_owners.py ../shared/knowledge/v2fly-domain-list

For every company in src/techvet/knowledge/data/owner_companies.yaml, its v2fly list (and the lists
it includes) is expanded into plain domains; ``full:`` hosts count as domains, ``regexp:`` and
``keyword:`` lines are left out (a keyword is not an owner). A domain claimed by two companies keeps
the first, in the order of the companies file, and is reported.
"""

import json
import re
import sys
from pathlib import Path

import yaml

DATA = Path(__file__).resolve().parent.parent / "src/techvet/knowledge/data"
LINE = re.compile(r"^(?:(domain|full):)?([a-z0-9.-]+\.[a-z0-9-]+)(?:\s|$|@|:)")


def expand(data_dir: Path, name: str, seen: set[str]) -> list[str]:
    if name in seen or not (data_dir / name).is_file():
        return []
    seen.add(name)
    out = []
    for raw in (data_dir / name).read_text(encoding="utf-8").splitlines():
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        if line.startswith("include:"):
            out.extend(expand(data_dir, line.split(":", 1)[1].split()[0].split("@")[0], seen))
            continue
        m = LINE.match(line)
        if m:
            out.append(m.group(2).lower())
    return out


def main(src: str) -> None:
    data_dir = Path(src) / "data"
    companies = yaml.safe_load((DATA / "owner_companies.yaml").read_text(encoding="utf-8"))["companies"]
    owners: dict[str, str] = {}
    for key in companies:
        for domain in expand(data_dir, key, set()):
            if domain in owners and owners[domain] != key:
                print(f"{domain}: {owners[domain]} and {key}; keeping {owners[domain]}", file=sys.stderr)
                continue
            owners[domain] = key
    doc = {
        "source": "v2fly/domain-list-community data/ (github.com/v2fly/domain-list-community, MIT)",
        "as_of": "2026-08",
        "licence": "MIT (v2fly/domain-list-community)",
        "domains": dict(sorted(owners.items())),
    }
    (DATA / "owners.json").write_text(json.dumps(doc, ensure_ascii=False, indent=0) + "\n", encoding="utf-8")
    print(f"{len(owners)} domains of {len(companies)} companies -> {DATA / 'owners.json'}")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "../shared/knowledge/v2fly-domain-list")
