#!/usr/bin/env python3
"""Build src/techvet/knowledge/data/world_map.json, the offline world map of the HTML report.

    npm pack @svg-maps/world@2.0.0 && python tools/build_world_map.py svg-maps-world-2.0.0.tgz

The package (CC BY 4.0, based on MapSVG's world map) gives one SVG path per country, keyed by ISO
3166 alpha-2. Each ring is thinned (Douglas-Peucker) and written with whole-unit relative moves, and specks of
islands are dropped: under 100 kilobytes instead of 1.2 MB, because every HTML page carries the map.
"""

from __future__ import annotations

import json
import re
import sys
import tarfile
from pathlib import Path

DATA = Path(__file__).resolve().parent.parent / "src/techvet/knowledge/data"


Point = tuple[float, float]


def _thin(points: list[Point], tolerance: float) -> list[Point]:
    """Douglas-Peucker: drop the points that lie within ``tolerance`` map units of the line
    through their neighbours. Iterative, so long coastlines do not recurse deeply."""
    if len(points) < 3:
        return points
    keep = [False] * len(points)
    keep[0] = keep[-1] = True
    stack = [(0, len(points) - 1)]
    while stack:
        first, last = stack.pop()
        (ax, ay), (bx, by) = points[first], points[last]
        dx, dy = bx - ax, by - ay
        norm = (dx * dx + dy * dy) ** 0.5 or 1.0
        worst, where = 0.0, -1
        for i in range(first + 1, last):
            px, py = points[i]
            distance = abs(dy * (px - ax) - dx * (py - ay)) / norm if (dx or dy) else abs(px - ax) + abs(py - ay)
            if distance > worst:
                worst, where = distance, i
        if worst > tolerance:
            keep[where] = True
            stack += [(first, where), (where, last)]
    return [p for p, k in zip(points, keep, strict=True) if k]


def _area(points: list[Point]) -> float:
    return abs(sum(x1 * y2 - x2 * y1 for (x1, y1), (x2, y2) in zip(points, points[1:] + points[:1], strict=True))) / 2


def simplify(path: str, tolerance: float = 0.6, min_area: float = 1.5) -> str:
    """The package's paths are relative moves ("m x,y dx,dy ... z"), one ring per island. Each ring is
    made absolute, thinned (Douglas-Peucker, ``tolerance`` map units on a 1010-unit-wide map) and
    written as an absolute start and whole-unit relative lines ("M x,y l dx,dy ... z"); rings smaller than ``min_area``
    square units are dropped unless they are all the country has (small island states stay)."""
    rings: list[list[Point]] = []
    x = y = 0.0
    for command, body in re.findall(r"([mMzZ])([^mMzZ]*)", path):
        if command in "zZ":
            if rings and rings[-1]:
                x, y = rings[-1][0]
            continue
        numbers = [float(n) for n in re.findall(r"-?\d+(?:\.\d+)?(?:e-?\d+)?", body)]
        ring = []
        for i in range(0, len(numbers) - 1, 2):
            if command == "m":
                x, y = x + numbers[i], y + numbers[i + 1]
            else:
                x, y = numbers[i], numbers[i + 1]
            ring.append((x, y))
        if ring:
            rings.append(ring)
    largest = max((_area(r) for r in rings), default=0.0)
    out = []
    for ring in rings:
        if _area(ring) < min_area and _area(ring) < largest:
            continue
        thinned = _thin(ring, tolerance)
        cx, cy = round(thinned[0][0]), round(thinned[0][1])
        start = f"M{cx},{cy}"
        moves = []
        for px, py in thinned[1:]:
            nx, ny = round(px), round(py)
            if (nx, ny) != (cx, cy):
                moves.append(f"{nx - cx},{ny - cy}")
                cx, cy = nx, ny
        out.append(start + ("l" + " ".join(moves) if moves else "") + "z")
    return "".join(out)


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
            "(https://mapsvg.com/maps/world); outlines thinned and rounded"
        ),
        "as_of": "2026-11-27",
        "viewBox": doc["viewBox"],
        "paths": paths,
    }
    (DATA / "world_map.json").write_text(json.dumps(out, separators=(",", ":")) + "\n", encoding="utf-8")
    print(f"{len(paths)} countries -> {DATA / 'world_map.json'}")


if __name__ == "__main__":
    main(sys.argv[1])
