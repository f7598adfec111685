#!/usr/bin/env python3
"""Rebuild techvet's native-library catalogue from LibChecker's rules.

    python tools/build_native_libs.py ../shared/knowledge/libchecker-rules

Each LibChecker ``native-libs/<file>.so.json`` names the SDK or engine a native library belongs to
(label, team, URL). The catalogue maps library file names to those facts; the Apache-2.0 licence
travels with it (knowledge/data/LIBCHECKER-LICENSE.txt).
"""

import json
import shutil
import sys
from pathlib import Path

DATA = Path(__file__).resolve().parent.parent / "src/techvet/knowledge/data"


def main(src: str) -> None:
    root = Path(src)
    libs = {}
    for path in sorted((root / "native-libs").glob("*.json")):
        rule = json.loads(path.read_text(encoding="utf-8"))
        libs[path.name.removesuffix(".json")] = {
            "label": rule.get("label", ""),
            "team": rule.get("team", ""),
            "url": rule.get("relativeUrl", ""),
        }
    doc = {
        "source": "LibChecker-Rules (github.com/LibChecker/LibChecker-Rules) native-libs",
        "as_of": "2024-06",
        "licence": "Apache-2.0 (see LIBCHECKER-LICENSE.txt)",
        "libraries": libs,
    }
    (DATA / "native_libs.json").write_text(json.dumps(doc, ensure_ascii=False, indent=0) + "\n", encoding="utf-8")
    shutil.copyfile(root / "LICENSE", DATA / "LIBCHECKER-LICENSE.txt")
    print(f"{len(libs)} native libraries -> {DATA / 'native_libs.json'}")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "../shared/knowledge/libchecker-rules")
