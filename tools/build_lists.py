#!/usr/bin/env python3
"""Rebuild techvet's restriction-list snapshot from the copies in ../shared/lists.

    python tools/build_lists.py ../shared/lists

Writes ``src/techvet/knowledge/data/restriction_lists.json.gz`` (one record per listed party in the
common model of techvet.screen.snapshot, with a manifest per list: title, authority, page, as_of,
input files and their sha256; titles and pages from restriction_sources.yaml) and the table scans
use, ``restriction_scan.json``. Lists and their inputs:

- ``us-bis-entity-list``, ``us-bis-meu``, ``us-dod-1260h``, ``us-dhs-uflpa``, ``us-ofac-ns-cmic``:
  restricted_parties.casslab.json (casslab-kaist/restricted-parties-db), whose countries are in
  Korean (mapped to ISO codes here) and which carries no listing dates; NS-CMIC is taken from
  OFAC's own consolidated-list files instead (us_ofac_ns_cmic.derived.csv), which give aliases,
  addresses, USCC and ISIN identifiers and listing dates;
- ``us-fcc-covered``: fcc_covered_list.facts.tsv (producers only; categories are not parties);
- ``us-ofac-sdn``: OFAC's SDN CSVs, entries linked to China or Hong Kong by remarks or address;
- ``in-meity-69a``: india_banned_apps.tsv (apps, by name and package; publisher where known).

Native-script names a list lacks (the UFLPA list and the FCC Covered List have none; the Entity List
gives few) come from party_native_names.yaml, each with its source. Then a Han-script name one list
gives a party is shared with the parties other lists give the same name (:func:`share_han_names`),
recording where it came from.

What the snapshot says of its origin names the lists' authorities and the public copies they were
read from, never a folder of this repository's development setup (a user's snapshot shows it).
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
import sys
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from techvet.screen.names import NameWords  # noqa: E402
from techvet.screen.snapshot import (  # noqa: E402
    add_forms,
    add_native_names,
    identifiers_in,
    make_party,
    share_han_names,
    write_snapshot,
)

DATA = ROOT / "src/techvet/knowledge/data"

KOREAN_COUNTRIES = {
    "중국": "CN", "러시아": "RU", "아랍에미리트": "AE", "파키스탄": "PK", "홍콩": "HK", "이란": "IR",
    "튀르키예": "TR", "말레이시아": "MY", "벨라루스": "BY", "영국": "GB", "우크라이나": "UA",
    "싱가포르": "SG", "독일": "DE", "캐나다": "CA", "아프가니스탄": "AF", "미얀마": "MM", "핀란드": "FI",
    "남수단": "SS", "남아프리카공화국": "ZA", "인도": "IN", "시리아": "SY", "레바논": "LB",
    "이스라엘": "IL", "프랑스": "FR", "아르메니아": "AM", "대만": "TW", "태국": "TH", "키프로스": "CY",
    "스위스": "CH", "불가리아": "BG", "한국": "KR", "에스토니아": "EE", "아일랜드": "IE", "오만": "OM",
    "네덜란드": "NL", "일본": "JP", "벨기에": "BE", "그리스": "GR", "이집트": "EG",
    "우즈베키스탄": "UZ", "카자흐스탄": "KZ", "몰타": "MT", "조지아": "GE", "브라질": "BR",
    "멕시코": "MX", "이탈리아": "IT", "키르기스스탄": "KG", "스페인": "ES", "이라크": "IQ",
    "스웨덴": "SE", "노르웨이": "NO", "칠레": "CL", "아르헨티나": "AR", "인도네시아": "ID",
    "베트남": "VN", "바레인": "BH", "파나마": "PA", "요르단": "JO", "슬로바키아": "SK",
    "북마케도니아": "MK", "헝가리": "HU", "세네갈": "SN", "폴란드": "PL", "벨리즈": "BZ", "라트비아": "LV",
    "케냐": "KE", "라오스": "LA", "오스트리아": "AT", "페루": "PE", "쿠바": "CU", "덴마크": "DK",
    "카타르": "QA", "호주": "AU", "볼리비아": "BO", "뉴질랜드": "NZ", "코스타리카": "CR",
    "자메이카": "JM", "스리랑카": "LK", "마다가스카르": "MG", "모로코": "MA", "파라과이": "PY",
    "루마니아": "RO", "포르투갈": "PT", "룩셈부르크": "LU", "니카라과": "NI", "에콰도르": "EC",
    "베네수엘라": "VE", "리투아니아": "LT", "우간다": "UG", "사우디아라비아": "SA", "필리핀": "PH",
    "북한": "KP",
}  # fmt: skip


CASSLAB_IDS = {
    "us-bis-entity-list": "us-bis-entity-list",
    "us-bis-military-end-user-list": "us-bis-meu",
    "us-dod-section-1260h": "us-dod-1260h",
    "us-dhs-uflpa": "us-dhs-uflpa",
}
AKA = re.compile(r"a\.k\.a\. '([^']+)'")
LISTING_DATE = re.compile(r"Listing Date \(CMIC\) (\d{2} \w{3} \d{4})")
MONTHS = {
    m: i for i, m in enumerate(("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"), 1)
}


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _countries(values: list[str], unmapped: set[str]) -> list[str]:
    out: list[str] = []
    for value in values:
        for part in value.split("/"):
            code = KOREAN_COUNTRIES.get(part.strip())
            if code is None:
                unmapped.add(part)
            elif code not in out:
                out.append(code)
    return out


def _dmy(text: str) -> str:
    day, month, year = text.split()
    return f"{year}-{MONTHS[month]:02d}-{int(day):02d}"


def casslab(path: Path, unmapped: set[str]) -> list[dict[str, Any]]:
    parties = []
    for record in json.loads(path.read_text(encoding="utf-8")):
        list_id = CASSLAB_IDS.get(record["source"]["list_id"])
        if list_id is None:
            continue
        names = record["name"]
        countries = _countries(record["countries"], unmapped)
        english = names["english"] or names["native"]
        aliases = [*record["aliases"], names["native"]]
        parts = [p for p in english.split(" - ") if p.strip()]
        if list_id == "us-bis-meu" and len(parts) > 2:  # one MEU row holds a group's members, " - "-joined
            for i, part in enumerate(parts):
                parties.append(
                    make_party(list_id, f"{record['source']['source_row']}.{i}", part, country=countries[:1] or None)
                )
            continue
        parties.append(
            make_party(
                list_id,
                str(record["source"]["source_row"]),
                english,
                aliases=aliases,
                country=countries[0] if countries else None,
                countries=countries if len(countries) > 1 else None,
                program=record["listing_rationale"] if list_id == "us-dhs-uflpa" else None,
            )
        )
    return parties


def ns_cmic(path: Path) -> list[dict[str, Any]]:
    parties = []
    for row in csv.DictReader(path.open(encoding="utf-8")):
        remarks = row["remarks"]
        listed = LISTING_DATE.search(remarks)
        parties.append(
            make_party(
                "us-ofac-ns-cmic",
                row["ent_num"],
                row["name"],
                aliases=[*row["aliases"].split("; "), *AKA.findall(remarks)],
                country="CN",
                program=row["program"],
                listed_on=_dmy(listed.group(1)) if listed else None,
                identifiers=identifiers_in(remarks),
                addresses=[a for a in row["addresses"].split(" | ") if a],
            )
        )
    return parties


# An exemption from a Covered List entry, with its end date ("Blue UAS cleared list excepted until ..."),
# is policy: fleet_policy.yaml keeps it, with its date, on the rule that applies it (FLEET-BLUE-UAS
# until 2027-01-01, after the FCC's Public Notice of 2026-01-07, which exempted Blue UAS items from the
# foreign-UAS category entry, not from DJI's and Autel's s.1709 entry). Restated here, the date would
# be a second source of truth, and the copy read gave another date than the notice.
_EXEMPTION_CLAUSE = re.compile(r";\s*[^;]*\bexcepted until \d{4}-\d{2}-\d{2}")


def fcc(path: Path) -> list[dict[str, Any]]:
    lines = [line for line in path.read_text(encoding="utf-8").splitlines() if line and not line.startswith("#")]
    parties = []
    for row in csv.DictReader(lines, delimiter="\t"):
        if row["party"].startswith("(category)"):
            continue
        parties.append(
            make_party(
                "us-fcc-covered",
                re.sub(r"\W+", "-", row["party"].lower()).strip("-"),
                row["party"],
                aliases=row["aliases"].split("; "),
                country=row["country"] if len(row["country"]) == 2 else None,
                program=_EXEMPTION_CLAUSE.sub("", f"{row['scope']}; limitation: {row['limitation']}"),
                listed_on=row["date_added"],
            )
        )
    return parties


def _legacy_csv(path: Path) -> list[list[str]]:
    text = path.read_text(encoding="latin-1")  # OFAC's legacy CSVs are Latin-1
    rows = [[c.strip() for c in row] for row in csv.reader(io.StringIO(text))]
    return [row for row in rows if len(row) > 1]  # the files end with a DOS end-of-file byte (\x1a)


def sdn(folder: Path) -> list[dict[str, Any]]:
    aliases: dict[str, list[str]] = {}
    for row in _legacy_csv(folder / "ofac_sdn_alt.2025-12.csv"):
        aliases.setdefault(row[0], []).append(row[3])
    addresses: dict[str, list[tuple[str, str]]] = {}
    for row in _legacy_csv(folder / "ofac_sdn_add.2025-12.csv"):
        if len(row) >= 5:
            text = ", ".join(c for c in row[2:5] if c and c != "-0-")
            addresses.setdefault(row[0], []).append((text, row[4]))
    parties = []
    for row in _legacy_csv(folder / "ofac_sdn.2024-05-03.csv"):
        if len(row) < 12 or row[2] not in ("-0-", "individual"):
            continue  # vessels and aircraft are not parties to screen
        ent, remarks = row[0], row[11] if row[11] != "-0-" else ""
        places = addresses.get(ent, [])
        countries = {c for _, c in places if c in ("China", "Hong Kong")}
        if not countries and not re.search(r"\b(China|Hong Kong)\b", remarks):
            continue
        parties.append(
            make_party(
                "us-ofac-sdn",
                ent,
                row[1],
                type="person" if row[2] == "individual" else "entity",
                aliases=[*aliases.get(ent, []), *AKA.findall(remarks)],
                country="HK" if countries == {"Hong Kong"} else "CN" if countries else None,
                program=row[3],
                identifiers=identifiers_in(remarks),
                addresses=[text for text, _ in places if text],
            )
        )
    return parties


def india(path: Path) -> list[dict[str, Any]]:
    parties = []
    for i, row in enumerate(csv.DictReader(path.open(encoding="utf-8"), delimiter="\t"), 1):
        parties.append(
            make_party(
                "in-meity-69a",
                str(i),
                row["app_name"],
                type="app",
                package=row["package_name"] or None,
                publisher=row["publisher"] or None,
                program=row["order_label"],
                listed_on=row["order_date"],
                country="CN",
            )
        )
    return parties


def xinjiang_places(path: Path) -> dict[str, Any]:
    """xinjiang_places.tsv as knowledge: its comment lines become the file's notes. Its source
    names the gazetteers it restates, not the file's folder here."""
    lines = path.read_text(encoding="utf-8").splitlines()
    notes = [line.lstrip("# ").strip() for line in lines if line.startswith("#")]
    rows = csv.DictReader([line for line in lines if line and not line.startswith("#")], delimiter="\t")
    places = [
        {"kind": r["kind"], "han": r["han"], "latin": [n.strip() for n in r["latin"].split(";") if n.strip()]}
        for r in rows
    ]
    return {
        "source": "public gazetteers of the Xinjiang Uyghur Autonomous Region's and the XPCC's places, "
        "restated by techvet maintainers",
        "as_of": "2026-11-27",
        "notes": notes,
        # Latin names that also name places (or companies) elsewhere: the file's fourth note lists
        # Bole, Aral, Manas, Aksu, Lop and Hami; Yili is also the dairy group of Inner Mongolia
        # (伊利, not 伊犁). These count only with a Xinjiang context.
        "ambiguous_latin": ["Bole", "Aral", "Manas", "Aksu", "Lop", "Hami", "Yili"],
        "sha256": _sha(path),
        "places": places,
    }


def main(src: str) -> None:
    folder = Path(src)
    unmapped: set[str] = set()
    curated = yaml.safe_load((DATA / "party_native_names.yaml").read_text(encoding="utf-8"))
    words = NameWords.from_doc(yaml.safe_load((DATA / "name_words.yaml").read_text(encoding="utf-8")))
    lists = yaml.safe_load((DATA / "restriction_sources.yaml").read_text(encoding="utf-8"))["lists"]
    parties = casslab(folder / "restricted_parties.casslab.json", unmapped)
    parties += ns_cmic(folder / "us_ofac_ns_cmic.derived.csv")
    parties += fcc(folder / "fcc_covered_list.facts.tsv")
    parties += sdn(folder)
    parties += india(folder / "india_banned_apps.tsv")
    added = add_native_names(parties, curated)
    shared = share_han_names(parties, words)
    add_forms(parties, words)
    inputs = {
        "us-bis-entity-list": ["restricted_parties.casslab.json"],
        "us-bis-meu": ["restricted_parties.casslab.json"],
        "us-dod-1260h": ["restricted_parties.casslab.json"],
        "us-dhs-uflpa": ["restricted_parties.casslab.json"],
        "us-ofac-ns-cmic": ["us_ofac_ns_cmic.derived.csv"],
        "us-fcc-covered": ["fcc_covered_list.facts.tsv"],
        "us-ofac-sdn": ["ofac_sdn.2024-05-03.csv", "ofac_sdn_alt.2025-12.csv", "ofac_sdn_add.2025-12.csv"],
        "in-meity-69a": ["india_banned_apps.tsv"],
    }
    as_of = {
        "us-bis-entity-list": "2026-08-18",
        "us-bis-meu": "2026-08-18",
        "us-dod-1260h": "2026-08-18",
        "us-dhs-uflpa": "2026-08-18",
        "us-ofac-ns-cmic": "2025-12-19",
        "us-fcc-covered": "2026-08-31",
        "us-ofac-sdn": "2024-05-03",
        "in-meity-69a": "2022-02-14",
    }  # the date of the copy each list was read from (MANIFEST.tsv's as_of; the FCC page copy: 2026-08)
    manifest = {}
    for list_id, meta in lists.items():
        manifest[list_id] = {
            **{k: meta[k] for k in ("title", "authority", "url")},
            "as_of": as_of[list_id],
            "count": sum(1 for p in parties if p["list"] == list_id),
            "inputs": {name: _sha(folder / name) for name in inputs[list_id]},
        }
    doc = {
        "source": "official US and Indian lists (each list's authority and page below), read from public copies: "
        "casslab-kaist/restricted-parties-db (BIS Entity and MEU lists, DoD 1260H, UFLPA), moov-io/watchman and "
        "jackdwyer/specially-designated-nationals-list (OFAC NS-CMIC and SDN), the FCC Covered List page, "
        "and press reports of MeitY's s.69A orders; each input's sha256 under its list",
        "as_of": max(as_of.values()),
        "native_names": curated["source"],
        "lists": manifest,
        "parties": parties,
    }
    write_snapshot(DATA, doc, words)
    places = xinjiang_places(folder / "xinjiang_places.tsv")
    (DATA / "xinjiang_places.json").write_text(
        json.dumps(places, ensure_ascii=False, indent=1) + "\n", encoding="utf-8"
    )
    for list_id, meta in manifest.items():
        print(f"{list_id:20} {meta['count']:6}")
    print(
        f"{len(parties)} parties, {added} curated native names, {shared} Han names shared across lists; "
        f"unmapped countries: {sorted(unmapped)}"
    )


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "../shared/lists")
