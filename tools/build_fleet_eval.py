#!/usr/bin/env python3
"""Build the synthetic fleet inventory, tests/data/fleet_inventory.csv, from the drone knowledge.

    python tools/build_fleet_eval.py

Each row is a real catalogue model under one of the spellings an agency's register uses (the
catalogue name, with or without the maker, in capitals or lower case, a model code such as WM160,
an abbreviation such as M3E, a one-letter slip), or an unknown aircraft (home-built frames,
models no catalogue row names), or a row with empty cells. The expected model comes from the row
it was made from; the expected decision restates the default US federal policy independently of
techvet.fleet: a Chinese maker or a licensed DJI design is grounded, a Chinese camera grounds any
aircraft, a Blue UAS cleared model is allowed, another foreign model is restricted, a US model
allowed, an unknown model reviewed. Deterministic (seed 20261127).
"""

from __future__ import annotations

import csv
import json
import random
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "src/techvet/knowledge/data"
OUT = ROOT / "tests/data/fleet_inventory.csv"
UNKNOWN = [
    ("Homebuilt", "F450 frame quad"), ("", "5-inch FPV freestyle"), ("University lab", "Hexacopter prototype"),
    ("Acme Aerial", "Surveyor 9"), ("Custom", "Tarot 680 Pro build"), ("Northwind", "Kestrel X"),
    ("", "Racing quad 3 inch"), ("Local build", "Agricultural sprayer v1"), ("Zephyr Labs", "ZL-7"),
    ("Generic", "Toy drone"),
]  # fmt: skip


def expected_decision(model: dict, name: str, cn_camera: bool) -> str:
    if model["country"] == "CN" or model.get("parent_country") == "CN" or model.get("dji_design"):
        return "ground"
    if cn_camera:
        return "ground"
    cleared = {n.lower() for n in model.get("blue_uas", {}).get("names", [])}
    if name.lower() in cleared or f"{model['brand']} {name}".lower() in cleared:
        return "allow"
    if model["country"] not in (None, "US"):
        return "restrict"
    return "allow"


def typo(text: str, rng: random.Random) -> str:
    words = text.split()
    i = max(range(len(words)), key=lambda k: len(words[k]))
    w = words[i]
    if len(w) < 5 or not w.isalpha():
        return text
    j = rng.randrange(1, len(w) - 1)
    words[i] = w[:j] + w[j + 1] + w[j] + w[j + 2 :]
    return " ".join(words)


def abbreviation(name: str) -> str | None:
    words = name.split()
    if len(words) < 2:
        return None
    return "".join(w if any(c.isdigit() for c in w) else w[0] for w in words).upper()


def main() -> None:
    rng = random.Random(20261127)
    doc = json.loads((DATA / "drones.json").read_text(encoding="utf-8"))
    models = [m for m in doc["models"] if m["names"] and m["category"] != "component"]
    claimed: dict[str, int] = {}  # a code two rows claim names neither model
    for m in doc["models"]:
        for code in {c["code"] for c in m["codes"]}:
            claimed[code] = claimed.get(code, 0) + 1
    shared: dict[str, int] = {}
    for m in doc["models"]:
        for short in {abbreviation(n) for n in m["names"]} - {None}:
            shared[str(short)] = shared.get(str(short), 0) + 1
    rows = []
    serial = 1000
    while len(rows) < 240:
        m = rng.choice(models)
        prefix = m["brand"].lower() + " "
        plain = [n[len(prefix) :] if n.lower().startswith(prefix) else n for n in m["names"]]
        name = rng.choice(sorted(set(plain)))
        variant = rng.choice(["name", "with-maker", "upper", "lower", "code", "abbreviation", "typo", "camera"])
        make, text = m["brand"], name
        if variant == "with-maker":
            make, text = "", f"{m['brand']} {name}"
        elif variant == "upper":
            text = name.upper()
        elif variant == "lower":
            make, text = make.lower(), name.lower()
        elif variant == "code":
            codes = [
                c["code"]
                for c in m["codes"]
                if not c["doubtful"] and len(c["code"]) >= 3 and re.search(r"\d", c["code"]) and claimed[c["code"]] == 1
            ]
            if not codes:
                continue
            text = rng.choice(codes)
        elif variant == "abbreviation":
            short = abbreviation(name)
            if not short or len(short) < 3 or shared[short] > 1:
                continue  # "M3P" is Mavic 3 Pro and Mini 3 Pro: no register can mean one of them
            text = short
        elif variant == "typo":
            slipped = typo(name, rng)
            if slipped == name:
                continue
            text = slipped
        cn_camera = variant == "camera"
        serial += 1
        rows.append(
            {
                "Make": make,
                "Model": text,
                "Serial Number": f"SN{serial}",
                "Owner Unit": rng.choice(["Fire", "Police", "Parks", "Survey", "Research"]),
                "Companion App": rng.choice(m["apps"]) if m["apps"] and rng.random() < 0.5 else "",
                "camera_maker": "Hikvision" if cn_camera else "",
                "camera_country": "CN" if cn_camera else "",
                "expected_model": m["id"],
                "expected_decision": expected_decision(m, name, cn_camera),
                "variant": variant,
            }
        )
    for make, model in UNKNOWN * 2:
        serial += 1
        unknown = {"Make": make, "Model": model, "Serial Number": f"SN{serial}", "Owner Unit": "Research"}
        unknown.update({"Companion App": "", "camera_maker": "", "camera_country": ""})
        rows.append({**unknown, "expected_model": "unknown", "expected_decision": "review", "variant": "unknown"})
    for _ in range(4):
        serial += 1
        empty = {"Make": "", "Model": "", "Serial Number": f"SN{serial}", "Owner Unit": "Parks"}
        empty.update({"Companion App": "", "camera_maker": "", "camera_country": ""})
        rows.append({**empty, "expected_model": "", "expected_decision": "", "variant": "empty"})
    rng.shuffle(rows)
    with OUT.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    print(f"{len(rows)} rows -> {OUT}")


if __name__ == "__main__":
    main()
