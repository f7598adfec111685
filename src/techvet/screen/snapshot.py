"""The restriction-list snapshot: the common party model, and writing a snapshot (the full lists
for screening, and the derived table scans look names up in).

Used by tools/build_lists.py (the bundled snapshot, from shared/lists) and by ``techvet lists
update`` (a user snapshot, from the authorities' downloads): both write the same two files.
A party is a dict: ``id``, ``list``, ``type`` (entity, person, app), ``name``, ``aliases`` (any
script), and where known ``country``, ``countries``, ``program``, ``listed_on``, ``identifiers``
(uscc, isin, lei), ``addresses``, ``package`` and ``publisher`` (apps), ``alias_sources``, and
``forms`` (each name's comparable tokens, computed here so loading never needs the Han converters).
"""

from __future__ import annotations

import gzip
import json
import os
import re
import tempfile
from collections import defaultdict
from pathlib import Path
from typing import Any

from techvet.errors import TechvetError
from techvet.screen.names import NameWords, han_key, has_han, name_forms, qualified_tokens

IDENTIFIERS = {
    "uscc": re.compile(r"Unified Social Credit Code \(USCC\),? ([0-9A-Z]{18})"),
    "isin": re.compile(r"ISIN,? ([A-Z]{2}[0-9A-Z]{9}[0-9])"),
    "lei": re.compile(r"Legal Entity Number,? ([0-9A-Z]{20})"),
}
SCAN_FIELDS = ("id", "list", "name", "type", "country", "program", "listed_on")


def make_party(list_id: str, key: str, name: str, **fields: Any) -> dict[str, Any]:
    """A party in the common model; empty fields are left out, aliases deduplicated."""
    party: dict[str, Any] = {"id": f"{list_id}:{key}", "list": list_id, "type": "entity", "name": name.strip()}
    party.update({k: v for k, v in fields.items() if v})
    aliases = (a.strip() for a in fields.get("aliases") or ())
    party["aliases"] = [a for a in dict.fromkeys(aliases) if a and a != party["name"]]
    return party


def identifiers_in(text: str) -> dict[str, list[str]]:
    """USCC, ISIN and LEI numbers named in a list's remarks or id column."""
    found = {kind: sorted(set(p.findall(text))) for kind, p in IDENTIFIERS.items()}
    return {k: v for k, v in found.items() if v}


def add_native_names(parties: list[dict[str, Any]], curated: dict[str, Any], strict: bool = True) -> int:
    """Add party_native_names.yaml's registered Chinese names as aliases, with their source. A
    curated name whose party is gone (delisted, or renamed in an update) is an error when building
    the bundled snapshot and skipped in an update."""
    by_name = {(p["list"], p["name"]): p for p in parties}
    added = 0
    for entry in curated["names"]:
        party = by_name.get((entry["list"], entry["name"]))
        if party is None:
            if strict:
                raise TechvetError(f"party_native_names.yaml: no {entry['list']} party named {entry['name']!r}")
            continue
        if entry["native"] not in party["aliases"]:
            party["aliases"].append(entry["native"])
        party.setdefault("alias_sources", {})[entry["native"]] = curated["source"]
        added += 1
    return added


def share_han_names(parties: list[dict[str, Any]], words: NameWords) -> int:
    """Give a party the Han-script names another list gives the same company; returns how many.

    The Entity List and the DoD 1260H list give some parties a Chinese name; the FCC Covered List,
    NS-CMIC and the SDN entries give none, so 杭州海康威视数字技术 met Hikvision on two lists of four.
    Two entities on different lists are taken for one company when their primary names have the
    same qualified tokens (:func:`techvet.screen.names.qualified_tokens`: parenthesised places
    kept, so "Semiconductor Manufacturing International (Beijing)" is not its parent; short forms
    left out, so "Hangzhou Hikvision Digital Technology (Hikvision)" is "Hangzhou Hikvision Digital
    Technology Company"), provided that:

    - it is the primary name on both sides, not an alias: aliases hold acronyms and short names
      that several companies share ("BGI" is BGI Group on one list and the Beijing Graphene
      Institute on another; "China Mobile" is the group, its listed company and its US carrier);
    - the name holds a word that names a company, not only generic ones ("China Telecommunications"
      is the group on one list and its listed subsidiary on another);
    - the lists differ (two entries of one list are two parties the list keeps apart).

    Only names a list or party_native_names.yaml gave are shared, never names shared in turn,
    and each keeps its origin in ``alias_sources``.
    """
    entities = [p for p in parties if p.get("type", "entity") == "entity" and not has_han(p["name"])]
    named: dict[str, list[dict[str, Any]]] = defaultdict(list)  # primary name's form -> parties
    for party in entities:
        form = " ".join(qualified_tokens(party["name"], words))
        if any(t not in words.generic for t in form.split()):
            named[form].append(party)
    given = {p["id"]: [n for n in p["aliases"] if has_han(n)] for p in entities}
    shared = 0
    for group in named.values():
        for donor in group:
            for taker in group:
                if taker["list"] == donor["list"]:
                    continue
                for han in given[donor["id"]]:
                    if han in taker["aliases"]:
                        continue
                    taker["aliases"].append(han)
                    curated = donor.get("alias_sources", {}).get(han)
                    origin = f"{curated}; given" if curated else f"given by {donor['list']}"
                    taker.setdefault("alias_sources", {})[han] = (
                        f"{origin} for {donor['id']} ({donor['name']}), whose name is this entry's"
                    )
                    shared += 1
    return shared


def add_forms(parties: list[dict[str, Any]], words: NameWords) -> None:
    for party in parties:
        names = [party["name"], *party["aliases"]]
        party["forms"] = [[name, " ".join(form)] for name in names for form in name_forms(name, words)]


def scan_table(parties: list[dict[str, Any]], doc: dict[str, Any], words: NameWords) -> dict[str, Any]:
    """What a scan looks names up in, and nothing more: exact comparable forms, Han-script keys and
    packages -> party numbers, with the few fields a finding shows. Loading it costs a scan 2 ms
    where the whole snapshot costs 25 (and every app scan pays it)."""
    kept: list[dict[str, Any]] = []
    forms: dict[str, list[int]] = {}
    han: dict[str, list[int]] = {}
    packages: dict[str, list[int]] = {}
    apps: list[list[Any]] = []
    for party in parties:
        kind = party.get("type", "entity")
        if kind not in ("entity", "app"):
            continue  # people are screened only on request, never in a scan
        n = len(kept)
        kept.append(party)
        for text, form in party["forms"]:
            if kind == "app":
                apps.append([form, n])
                continue
            if n not in forms.setdefault(form, []):
                forms[form].append(n)
            key = han_key(text, words) if has_han(text) else None
            if key and n not in han.setdefault(key, []):
                han[key].append(n)
        if party.get("package"):
            packages.setdefault(party["package"], []).append(n)
    return {
        "source": doc["source"],
        "as_of": doc["as_of"],
        "lists": {k: {"title": v["title"], "as_of": v["as_of"]} for k, v in doc["lists"].items()},
        # columns and sorted "key<TAB>n,n" lines: JSON arrays of strings parse several times
        # faster than objects, and a sorted list is searched without building a dict
        "parties": {f: [p.get(f) for p in kept] for f in SCAN_FIELDS},
        "forms": sorted(f"{k}\t{','.join(map(str, v))}" for k, v in forms.items()),
        "han": sorted(f"{k}\t{','.join(map(str, v))}" for k, v in han.items()),
        "packages": packages,
        "apps": apps,
    }


def write_snapshot(directory: Path, doc: dict[str, Any], words: NameWords) -> None:
    """Write restriction_lists.json.gz and restriction_scan.json into ``directory``, each through
    a temporary file and a rename, so a reader never sees half a file."""
    directory.mkdir(parents=True, exist_ok=True)
    payload = json.dumps(doc, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    scan = json.dumps(scan_table(doc["parties"], doc, words), ensure_ascii=False, separators=(",", ":"))
    _atomic_write(directory / "restriction_lists.json.gz", gzip.compress(payload, compresslevel=9, mtime=0))
    _atomic_write(directory / "restriction_scan.json", (scan + "\n").encode("utf-8"))


def _atomic_write(path: Path, data: bytes) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


__all__ = ["add_forms", "add_native_names", "identifiers_in", "make_party", "scan_table", "write_snapshot"]
