#!/usr/bin/env python3
"""Build the screening evaluation set, tests/data/screening_eval.tsv, from the lists themselves.

    python tools/build_screening_eval.py ../shared/lists

Each row pairs a query with a listed party and says whether they should match (label 1) or not
(label 0), so techvet (does the party come back from ``screen(query)``?) and a pairwise matcher
(does ``compare(query, party)`` pass its threshold?) are scored on the same pairs (bench/screen.py).

Positives come from the bundled snapshot (restriction_lists.json.gz): listed aliases, native-script
names, their traditional-script forms (zhconv), their word-by-word pinyin romanisation (pypinyin),
and perturbations of listed names (word order, legal form, case and punctuation, one-letter typos
in the longest word). Negatives are real companies on none of the bundled lists (the companies
China's MOFCOM lists, in English and Chinese, from shared/lists/cn_mofcom_lists.xyna.json, and the
companies of the SDK catalogue and owner table not listed), each paired with its most alike listed
party, and look-alikes made from listed names by dropping or replacing the word that names the
company ("Hangzhou Hikvision Digital Technology" -> "Hangzhou Digital Technology"). A negative that
turns out to equal a listed name's comparable form is left out. Deterministic (seed 20261127).
"""

from __future__ import annotations

import csv
import gzip
import json
import random
import re
import sys
from pathlib import Path

import yaml
from rapidfuzz import fuzz, process

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from techvet.screen.names import NameWords, has_han, name_forms  # noqa: E402

DATA = ROOT / "src/techvet/knowledge/data"
OUT = ROOT / "tests/data/screening_eval.tsv"
FORMS = [" Co., Ltd.", " Limited", " Corporation", " Inc.", " Company Limited", " Group Co., Ltd.", ""]
BRANDS = ["Haiyue", "Mingtai", "Ruifeng", "Jiahe", "Xinda", "Huarui", "Tianyi", "Zhongke", "Boyuan", "Kaida"]


def main(shared: str) -> None:
    rng = random.Random(20261127)
    doc = json.loads(gzip.decompress((DATA / "restriction_lists.json.gz").read_bytes()))
    words = NameWords.from_doc(yaml.safe_load((DATA / "name_words.yaml").read_text(encoding="utf-8")))
    parties = [p for p in doc["parties"] if p.get("type", "entity") == "entity"]
    listed_forms = {form for p in doc["parties"] for _, form in p["forms"]}
    rows: list[tuple[str, str, int, str]] = []

    def add(query: str, party: dict, label: int, kind: str) -> None:
        query = " ".join(query.split())
        if query:
            rows.append((query, party["id"], label, kind))

    latin = [p for p in parties if not has_han(p["name"]) and len(p["name"].split()) >= 2]
    han = [(p, a) for p in parties for a in p["aliases"] if has_han(a)]
    aliased = [(p, a) for p in parties for a in p["aliases"] if not has_han(a) and len(a) > 3]
    for p, alias in rng.sample(aliased, 120):
        add(alias, p, 1, "alias")
    for p, alias in rng.sample(han, min(100, len(han))):
        add(alias, p, 1, "native-script")
    import zhconv
    from pypinyin import lazy_pinyin

    for p, alias in rng.sample(han, min(80, len(han))):
        add(zhconv.convert(alias, "zh-hant"), p, 1, "traditional")
    for p, alias in rng.sample(han, min(80, len(han))):
        add(_romanise(alias, words, lazy_pinyin), p, 1, "pinyin")
    for p in rng.sample(latin, 100):
        parts = re.sub(r"\b(Co\.?|Ltd\.?|Limited|Corporation|Inc\.?|Company)\b[.,]?", "", p["name"]).split()
        rng.shuffle(parts)
        add(" ".join(parts), p, 1, "word-order")
    for p in rng.sample(latin, 100):
        stem = re.sub(r",?\s*\b(Co\.?,?\s*Ltd\.?|Limited|Corporation|Inc\.?|Company|Ltd\.?)$", "", p["name"].strip())
        add(stem + rng.choice(FORMS), p, 1, "legal-form")
    for p in rng.sample(latin, 80):
        add(p["name"].upper().replace(",", "").replace(".", ""), p, 1, "case-punctuation")
    for p in rng.sample(latin, 120):
        add(_typo(p["name"], rng), p, 1, "typo")
    # negatives: real companies on none of the lists, each with its most alike listed party
    choices = {p["id"]: p["name"] for p in parties}
    by_id = {p["id"]: p for p in parties}
    real = json.loads((Path(shared) / "cn_mofcom_lists.xyna.json").read_text(encoding="utf-8"))
    names = [r["entity_name"] for r in real] + [a for r in real for a in r.get("aliases", []) if has_han(a)]
    owners = yaml.safe_load((DATA / "owner_companies.yaml").read_text(encoding="utf-8"))["companies"]
    names += [c["owner"] for c in owners.values()]
    sdks = yaml.safe_load((DATA / "sdks.yaml").read_text(encoding="utf-8"))["sdks"]
    names += [s["vendor"] for s in sdks if s.get("vendor")]
    naming_sets = [frozenset(t for t in form.split() if t not in words.generic) for form in listed_forms]
    for name in dict.fromkeys(names):
        mine = [frozenset(t for t in f if t not in words.generic) for f in name_forms(name, words)]
        if any(m and any(m <= listed for listed in naming_sets) for m in mine):
            continue  # a listed company after all ("Megvii" is "Megvii Technology"): not a negative
        best = process.extractOne(name, choices, scorer=fuzz.token_set_ratio)
        if best is not None:
            add(name, by_id[best[2]], 0, "real-unlisted")
    df: dict[str, int] = {}
    for p in parties:
        for word in {re.sub(r"\W", "", t).lower() for t in p["name"].split()}:
            df[word] = df.get(word, 0) + 1
    chinese = [p for p in latin if p.get("country") in ("CN", "HK") and len(name_forms(p["name"], words)[0]) >= 3]
    for p in rng.sample(chinese, 150):
        tokens = p["name"].split()
        plain = [re.sub(r"\W", "", t).lower() for t in tokens]
        naming = [i for i, t in enumerate(plain) if t and t not in words.generic and t not in words.forms]
        if not naming:
            continue
        distinct = min(naming, key=lambda i: df.get(plain[i], 0))  # the rarest word names the company
        if rng.random() < 0.5:
            query = " ".join(tokens[:distinct] + tokens[distinct + 1 :])
            kind = "lookalike-drop"
        else:
            query = " ".join(tokens[:distinct] + [rng.choice(BRANDS)] + tokens[distinct + 1 :])
            kind = "lookalike-swap"
        if not any(" ".join(f) in listed_forms for f in name_forms(query, words)):
            add(query, p, 0, kind)
    OUT.parent.mkdir(parents=True, exist_ok=True)
    with OUT.open("w", encoding="utf-8", newline="") as handle:
        handle.write("# built by tools/build_screening_eval.py from the bundled lists; see its docstring\n")
        writer = csv.writer(handle, delimiter="\t", lineterminator="\n")
        writer.writerow(["query", "party_id", "label", "kind"])
        writer.writerows(rows)
    pos = sum(r[2] for r in rows)
    print(f"{len(rows)} pairs ({pos} positive, {len(rows) - pos} negative) -> {OUT}")


def _romanise(name: str, words: NameWords, lazy_pinyin: object) -> str:
    """Word-by-word pinyin, as Chinese companies romanise their names (合肥宝龙达信息技术有限公司 ->
    Hefei Baolongda Xinxi Jishu Youxian Gongsi): known words and runs of unknown characters."""
    known = sorted([*words.han_words, "有限公司", "股份", "集团"], key=len, reverse=True)
    out, i, run = [], 0, ""
    while i < len(name):
        hit = next((w for w in known if name.startswith(w, i)), None)
        if hit is None:
            run += name[i]
            i += 1
            continue
        if run:
            out.append("".join(lazy_pinyin(run)).capitalize())  # type: ignore[operator]
            run = ""
        out.append("Youxian Gongsi" if hit == "有限公司" else "".join(lazy_pinyin(hit)).capitalize())  # type: ignore[operator]
        i += len(hit)
    if run:
        out.append("".join(lazy_pinyin(run)).capitalize())  # type: ignore[operator]
    return " ".join(out)


def _typo(name: str, rng: random.Random) -> str:
    tokens = name.split()
    i = max(range(len(tokens)), key=lambda k: len(tokens[k]))
    word = tokens[i]
    if len(word) < 5:
        return name
    j = rng.randrange(1, len(word) - 1)
    kind = rng.randrange(3)
    if kind == 0:
        word = word[:j] + word[j + 1 :]  # deletion
    elif kind == 1:
        word = word[:j] + rng.choice("aeiounrst") + word[j + 1 :]  # substitution
    else:
        word = word[: j - 1] + word[j] + word[j - 1] + word[j + 1 :]  # transposition
    tokens[i] = word
    return " ".join(tokens)


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "../shared/lists")
