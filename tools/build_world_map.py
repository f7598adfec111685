#!/usr/bin/env python3
"""Build src/techvet/knowledge/data/world_map.json, the offline world map of the HTML report.

    npm pack @svg-maps/world@2.0.0 && python tools/build_world_map.py svg-maps-world-2.0.0.tgz

The package (CC BY 4.0, based on MapSVG's world map) gives one SVG path per country, keyed by ISO
3166 alpha-2. The relative moves are made absolute and rounded to whole map units (a 1010-unit-wide map needs no
more), repeated points dropped: a few hundred kilobytes instead of 1.2 MB.
"""

from __future__ import annotations

import json
import re
import sys
import tarfile
from pathlib import Path

DATA = Path(__file__).resolve().parent.parent / "src/techvet/knowledge/data"


def simplify(path: str) -> str:
    """The package's paths are relative moves ("m x,y dx,dy ... z"): made absolute, rounded to whole
    map units, repeated points dropped, written as absolute "M x,y x,y ... Z"."""
    out = []
    start = (0.0, 0.0)
    x = y = 0.0
    for command, body in re.findall(r"([mMzZ])([^mMzZ]*)", path):
        if command in "zZ":
            out.append("Z")
            x, y = start
            continue
        numbers = [float(n) for n in re.findall(r"-?\d+(?:\.\d+)?(?:e-?\d+)?", body)]
        points = []
        for i in range(0, len(numbers) - 1, 2):
            if command == "m":
                x, y = x + numbers[i], y + numbers[i + 1]
            else:
                x, y = numbers[i], numbers[i + 1]
            if i == 0:
                start = (x, y)
            point = f"{round(x)},{round(y)}"
            if not points or points[-1] != point:
                points.append(point)
        if points:
            out.append("M" + " ".join(points))
    return " ".join(out)


def main(tarball: str) -> None:
    with tarfile.open(tarball) as tar:
        handle = tar.extractfile("package/index.js")
        assert handle is not None
        text = handle.read().decode("utf-8")
    doc = json.loads(text[text.index("{") : text.rindex("}") + 1])
    paths = {location["id"].upper(): simplify(location["path"]) for location in doc["locations"]}
    out = {
        "source": (
            "@svg-maps/world 2.0.0 (CC BY 4.0), based on MapSVG's world map "
            "(https://mapsvg.com/maps/world); coordinates rounded"
        ),
        "as_of": "2026-11-27",
        "viewBox": doc["viewBox"],
        "paths": paths,
    }
    (DATA / "world_map.json").write_text(json.dumps(out, separators=(",", ":")) + "\n", encoding="utf-8")
    print(f"{len(paths)} countries -> {DATA / 'world_map.json'}")


if __name__ == "__main__":
    main(sys.argv[1])
