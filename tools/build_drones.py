#!/usr/bin/env python3
"""Build techvet's drone knowledge, src/techvet/knowledge/data/drones.json, from
../shared/knowledge/drones (uas_models.tsv, blue_uas.tsv; see its README and policies.md).

    python tools/build_drones.py ../shared/knowledge/drones

Per model row: manufacturer, brand, the model names (a row such as "Phantom 4 Pro / Pro+" gives
"Phantom 4 Pro" and "Phantom 4 Pro+", each also with the brand in front), model codes (WM160,
PH4PRO, M3E ...; a code the source marks with "?" is kept and flagged), the maker's and parent's
countries as ISO codes (None when the source does not know), companion app package ids, category,
whether it is a licensed or look-alike DJI design, and the Blue UAS Cleared List entry that names
it. Every row keeps its source.
"""

from __future__ import annotations

import csv
import json
import re
import sys
from pathlib import Path

from rapidfuzz import fuzz

DATA = Path(__file__).resolve().parent.parent / "src/techvet/knowledge/data"
COUNTRIES = {
    "china": "CN", "us": "US", "usa": "US", "france": "FR", "switzerland": "CH", "germany": "DE",
    "japan": "JP", "hong kong": "HK", "taiwan": "TW",
}  # fmt: skip
PACKAGE = re.compile(r"\b[a-z][a-z0-9_]*(?:\.[a-z0-9_]+){1,4}\b")
CODE = re.compile(r"^[A-Za-z]{1,6}-?\d{1,5}[A-Za-z0-9]{0,6}$")
NOT_CODES = {"RID", "MFR", "FCC", "RC", "DJI"}


def country(text: str) -> tuple[str | None, bool]:
    """ISO code of the first country a cell names, and whether the source doubts it ("?")."""
    low = text.lower()
    for name, code in sorted(COUNTRIES.items(), key=lambda kv: -len(kv[0])):
        if re.match(rf"\s*{re.escape(name)}\b", low):
            return code, "?" in text
    return None, True


def names_of(brand: str, model: str) -> list[str]:
    """Each variant of a " / "-separated model cell, completed from the first variant's words;
    a parenthesised choice ("Dragonfish (Lite / Standard / Pro)") gives one name per option."""
    brand = brand.split(" / ")[0].strip()
    model = model.replace(" ?", "").replace(" series", "")
    choice = re.search(r"^(.*?)\s*\(([^)]*/[^)]*)\)\s*$", model)
    if choice:
        base = choice.group(1).strip()
        variants = [base, *(f"{base} {o.strip()}" for o in choice.group(2).split("/"))]
    else:
        variants = [re.sub(r"\s*\([^)]*\)", "", v).strip() for v in model.split(" / ")]
    variants = [v for v in variants if v and v != "?"]
    if not variants:
        return []
    first = variants[0].split()
    out = []
    for v in variants:
        words = v.split()
        # "Pro+" after "Phantom 4 Pro", "4T" after "Matrice 4E": a shorter variant completes the
        # first; "FIMI X8 SE" after "Mi Drone" is a name of its own
        if words[0] != first[0] and (len(words) < len(first) or words[0][0].isdigit()):
            v = " ".join([*first[:-1], *words])
        out.append(v)
    full = [f"{brand} {v}" for v in out if not v.lower().startswith(brand.lower())]
    return list(dict.fromkeys([*out, *full]))


def codes_of(aliases: str, model: str) -> list[dict[str, object]]:
    out = []
    text = aliases + " " + " ".join(re.findall(r"\(([^)]*)\)", model))
    for part in re.split(r"[;,/]| \+ ", text):
        doubtful = "?" in part
        for token in re.findall(r"[A-Za-z0-9-]+", part):
            if CODE.match(token) and token.upper() not in NOT_CODES and not token.isdigit():
                out.append({"code": token.upper(), "doubtful": doubtful})
    seen: dict[str, dict[str, object]] = {}
    for c in out:
        seen.setdefault(str(c["code"]), c)
    return list(seen.values())


def _names_platform(name: str, platform: dict[str, str]) -> bool:
    """Whether a model name is the Blue UAS platform: alike as a whole, or the platform's words
    are the name's plus words of its maker's name ("Ascent AeroSystems Spirit" is "Ascent
    Spirit"; "Parrot ANAFI USA" is not "Parrot ANAFI")."""
    label = re.sub(r"\s*\([^)]*\)", "", platform["platform"]).replace(";", " ")
    if fuzz.token_sort_ratio(name, label) >= 97:  # "Skydio X2" is not "Skydio X2D"
        return True
    mine, theirs = set(name.lower().split()), set(label.lower().split())
    maker = set(re.sub(r"[()]", " ", platform["manufacturer"]).lower().split())
    return len(mine) >= 2 and mine <= theirs and (theirs - mine) <= maker


def main(src: str) -> None:
    folder = Path(src)
    rows = list(csv.DictReader((folder / "uas_models.tsv").open(encoding="utf-8"), delimiter="\t"))
    blue = list(csv.DictReader((folder / "blue_uas.tsv").open(encoding="utf-8"), delimiter="\t"))
    models = []
    for i, r in enumerate(rows):
        maker_country, maker_doubt = country(r["manufacturer_country"])
        parent_country, parent_doubt = country(r["parent_country"])
        brand = r["brand"]
        text = f"{r['model_aliases']} {r['notes']}"
        rebrand = brand != "DJI" and not brand.startswith("DJI") and re.search(r"\bDJI\b", text) is not None
        names = names_of(brand, r["model"])
        entry = {
            "id": f"uas-{i + 1:03d}",
            "manufacturer": r["manufacturer"].replace(" ?", "").strip(),
            "brand": brand.split(" / ")[0].strip(),
            "model": r["model"],
            "names": names,
            "codes": codes_of(r["model_aliases"], r["model"]),
            "country": maker_country,
            "country_doubtful": maker_doubt,
            "parent": r["parent_company"] or None,
            "parent_country": parent_country,
            "apps": sorted(set(PACKAGE.findall(r["companion_apps"]))),
            "category": r["category"],
            "dji_design": rebrand or brand.startswith("Ryze"),
            "source": r["source"],
        }
        for platform in blue:
            cleared = [n for n in names if _names_platform(n, platform)]
            if cleared:
                entry["blue_uas"] = {
                    "platform": platform["platform"],
                    "added": platform["date_added"],
                    "names": cleared,
                }
                break
        models.append(entry)
    doc = {
        "source": (
            "public reporting, firmware-tools projects (o-gs/dji-firmware-tools) and regulators' pages "
            "(FCC, DIU/DCMA Blue UAS Cleared List), each row with its own sources"
        ),
        "as_of": "2026-11",
        "blue_uas_note": (
            "Blue UAS Cleared List platforms as reconstructed from press reports: not the official DCMA list, "
            "and incomplete"
        ),
        "models": models,
        "blue_uas": [
            {"platform": b["platform"], "manufacturer": b["manufacturer"], "added": b["date_added"]} for b in blue
        ],
    }
    (DATA / "drones.json").write_text(json.dumps(doc, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    print(
        f"{len(models)} models, {sum('blue_uas' in m for m in models)} on the Blue UAS list -> {DATA / 'drones.json'}"
    )


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "../shared/knowledge/drones")
