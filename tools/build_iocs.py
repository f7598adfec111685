#!/usr/bin/env python3
"""Build knowledge/data/iocs.json from a local copy of the indicator sources.

    python tools/build_iocs.py [--from ../shared/knowledge/iocs]

The sources, their versions and licences are in knowledge/data/ioc_sources.yaml; each source is a
folder of that name under --from (mvt-indicators/, stalkerware-indicators/). The index is written
with the newest source date as its as_of.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from techvet.iocs.build import build_index
from techvet.knowledge import DATA_DIR, _read

ROOT = Path(__file__).resolve().parent.parent


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--from", dest="folder", default=str(ROOT.parent / "shared" / "knowledge" / "iocs"))
    parser.add_argument("--out", default=str(DATA_DIR / "iocs.json"))
    args = parser.parse_args()
    config = _read(DATA_DIR, "ioc_sources.yaml")
    folder = Path(args.folder)
    index = build_index(config, lambda source, name: (folder / source / name).read_bytes())
    dates = sorted(str(s["date"]) for s in config["sources"].values())
    doc = {
        "source": "tools/build_iocs.py from "
        + ", ".join(f"{k} at {v['commit'][:12]}" for k, v in config["sources"].items()),
        "as_of": dates[-1],
        **index.to_doc(),
    }
    Path(args.out).write_text(json.dumps(doc, ensure_ascii=False, separators=(",", ":")) + "\n", encoding="utf-8")
    print(f"{args.out}: {len(index.families)} families, {index.size()} indicators", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
