"""``techvet lists update``: refresh the lists from their authorities, never losing good data.

The only command that touches the network (and only when run). Each source in
restriction_sources.yaml is downloaded (bounded in size and time), parsed, and checked: a list
whose new copy cannot be parsed, or holds under half the entries of the copy in use (a truncated
download, a changed page), keeps the copy in use, and the command says so and exits non-zero. The
lists that pass replace theirs in a new snapshot, written into a fresh folder under the user's
data folder; one atomic rename of a symbolic link (``current``) then makes it the snapshot every
later run reads. A failed or partial update therefore never replaces good data, and a reader never
sees a half-written snapshot.

Lists without a machine-readable source (the DoD 1260H list is a PDF; India's orders are press
releases) change with techvet's bundled snapshot.
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

from techvet.errors import TechvetError
from techvet.knowledge import DATA_DIR, Knowledge, _read, lists_dir, load
from techvet.screen.snapshot import (
    add_forms,
    add_native_names,
    identifiers_in,
    make_party,
    share_han_names,
    write_snapshot,
)

MAX_DOWNLOAD = 256 << 20
TIMEOUT_S = 60
MIN_SHARE = 0.5  # a new copy with fewer than half the entries in use is taken for a broken download

Fetch = Callable[[str], bytes]


@dataclass
class UpdateReport:
    updated: dict[str, tuple[int, int]] = field(default_factory=dict)  # list -> (old count, new count)
    kept: dict[str, str] = field(default_factory=dict)  # list -> why the copy in use was kept
    snapshot: Path | None = None


def fetch_url(url: str) -> bytes:
    """Download ``url`` (https only), at most MAX_DOWNLOAD bytes, within TIMEOUT_S per read."""
    import urllib.request

    if not url.startswith("https://"):
        raise TechvetError(f"{url}: only https sources are fetched")
    request = urllib.request.Request(url, headers={"User-Agent": "techvet lists update"})
    with urllib.request.urlopen(request, timeout=TIMEOUT_S) as response:  # https only: checked above
        data: bytes = response.read(MAX_DOWNLOAD + 1)
    if len(data) > MAX_DOWNLOAD:
        raise TechvetError(f"{url}: larger than {MAX_DOWNLOAD >> 20} MiB")
    return data


def update_lists(fetch: Fetch = fetch_url, today: date | None = None, kb: Knowledge | None = None) -> UpdateReport:
    kb = kb or load()
    today = today or date.today()
    config = _read(DATA_DIR, "restriction_sources.yaml")
    current = kb.restriction_lists
    counts = Counter(p["list"] for p in current["parties"])
    report = UpdateReport()
    fresh: dict[str, list[dict[str, Any]]] = {}
    digests: dict[str, dict[str, str]] = {}
    for source_id, source in config["sources"].items():
        wanted = {k: v for k, v in config["lists"].items() if v.get("update") == source_id}
        try:
            data = fetch(source["url"])
            parsed = PARSERS[source["format"]](data, wanted)
        except (OSError, ValueError, UnicodeDecodeError, csv.Error, TechvetError) as exc:
            for list_id in wanted:
                report.kept[list_id] = f"{source['url']}: {exc}"
            continue
        for list_id in wanted:
            parties = parsed.get(list_id, [])
            old = counts.get(list_id, 0)
            if not parties or len(parties) < MIN_SHARE * old:
                report.kept[list_id] = (
                    f"the new copy has {len(parties)} entries against {old} in use: kept the copy in use"
                )
                continue
            fresh[list_id] = parties
            digests[list_id] = {source["url"]: hashlib.sha256(data).hexdigest()}
            report.updated[list_id] = (old, len(parties))
    if not fresh:
        return report
    parties = [p for p in current["parties"] if p["list"] not in fresh]
    for list_id in config["lists"]:
        parties += fresh.get(list_id, [])
    for party in parties:
        party.pop("forms", None)
    curated = _read(DATA_DIR, "party_native_names.yaml")
    add_native_names(parties, curated, strict=False)
    share_han_names(parties, kb.name_words)  # as the bundled snapshot does: a fresh list keeps its Han names
    add_forms(parties, kb.name_words)
    manifest = {}
    for list_id, meta in current["lists"].items():
        entry = dict(meta)
        if list_id in fresh:
            entry.update(as_of=today.isoformat(), inputs=digests[list_id], downloaded=True)
        entry["count"] = sum(1 for p in parties if p["list"] == list_id)
        manifest[list_id] = entry
    doc = {
        "source": f"techvet lists update of {today.isoformat()} (updated lists) over {current['source']}",
        "as_of": today.isoformat(),
        "native_names": curated["source"],
        "lists": manifest,
        "parties": parties,
    }
    report.snapshot = _install(doc, kb)
    return report


MAX_SNAPSHOT_BYTES = 512 << 20  # a snapshot's JSON, inflated (the bundled one is about 5 MB)
_PARTY_FIELDS = {"id": str, "list": str, "name": str}


def install_snapshot(data: bytes, kb: Knowledge | None = None) -> tuple[Path, dict[str, tuple[int, int]]]:
    """Install a snapshot someone hands over (``restriction_lists.json.gz`` as ``techvet lists update``
    writes it, or its JSON): the same rule as a download, checked whole before it replaces anything.
    Each list must be one techvet knows, every party must have its id, list and name as text, and no
    list may hold under half the entries of the copy in use (a truncated or emptied file). Returns
    the folder and, per list, (entries in use, entries now). Raises TechvetError with one line."""
    import gzip
    import json
    import zlib

    kb = kb or load()
    try:
        if data[:2] == b"\x1f\x8b":
            inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
            data = inflater.decompress(data, MAX_SNAPSHOT_BYTES + 1)
            if len(data) > MAX_SNAPSHOT_BYTES or inflater.unconsumed_tail:
                raise TechvetError(f"snapshot: over {MAX_SNAPSHOT_BYTES >> 20} MiB once inflated")
        doc = json.loads(data)
    except (OSError, EOFError, zlib.error, gzip.BadGzipFile, UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise TechvetError(f"snapshot: not a restriction-list snapshot ({type(exc).__name__})") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("parties"), list) or not isinstance(doc.get("lists"), dict):
        raise TechvetError("snapshot: needs lists (a mapping) and parties (a list), as restriction_lists.json.gz has")
    known = kb.restriction_lists["lists"]
    unknown = sorted(str(k) for k in doc["lists"] if k not in known)
    if unknown:
        raise TechvetError(f"snapshot: lists techvet does not know: {', '.join(unknown[:5])}")
    for n, party in enumerate(doc["parties"]):
        if not isinstance(party, dict) or any(not isinstance(party.get(k), t) for k, t in _PARTY_FIELDS.items()):
            raise TechvetError(f"snapshot: party {n} needs id, list and name as text")
        if party["list"] not in doc["lists"]:
            raise TechvetError(f"snapshot: party {party['id']!r} is on {party['list']!r}, which the snapshot lists not")
        odd = [k for k in ("type", "program", "listed_on") if not isinstance(party.get(k, ""), str | None)]
        country = party.get("country", "")
        if not isinstance(country, str | None) and not (
            isinstance(country, list) and all(isinstance(c, str) for c in country)
        ):
            odd.append("country")  # a country code, or a few (the bundled snapshot has both)
        if odd:
            raise TechvetError(f"snapshot: party {party['id']!r}: {', '.join(odd)} must be text")
        aliases = party.setdefault("aliases", [])
        if not isinstance(aliases, list) or not all(isinstance(a, str) for a in aliases):
            raise TechvetError(f"snapshot: party {party['id']!r}: aliases must be a list of names")
    old = Counter(p["list"] for p in kb.restriction_lists["parties"])
    new = Counter(p["list"] for p in doc["parties"])
    shrunk = [
        f"{k} ({new.get(k, 0)} of {n})"
        for k, n in sorted(old.items())
        if k in doc["lists"] and new.get(k, 0) < MIN_SHARE * n
    ]
    if shrunk:
        raise TechvetError(f"snapshot: lists with under half their entries in use, kept: {', '.join(shrunk[:5])}")
    for party in doc["parties"]:
        party.pop("forms", None)
    add_forms(doc["parties"], kb.name_words)
    doc.setdefault("source", "a snapshot uploaded to techvet serve")
    doc.setdefault("as_of", date.today().isoformat())
    doc.setdefault("native_names", kb.restriction_lists.get("native_names"))
    for list_id, meta in known.items():  # a list the snapshot leaves out is kept as it was
        if list_id not in doc["lists"]:
            doc["lists"][list_id] = meta
            doc["parties"] += [p for p in kb.restriction_lists["parties"] if p["list"] == list_id]
    changes = {k: (old.get(k, 0), sum(1 for p in doc["parties"] if p["list"] == k)) for k in doc["lists"]}
    return _install(doc, kb), changes


def installed_snapshot() -> str | None:
    """Which snapshot ``current`` points at now (its resolved folder), or None when none is
    installed: what a long-running process compares to know the lists changed under it."""
    current = lists_dir() / "current"
    return str(current.resolve()) if current.exists() else None


def _install(doc: dict[str, Any], kb: Knowledge) -> Path:
    """Write the snapshot into a new folder, then point ``current`` at it in one rename."""
    from techvet.knowledge.installing import install_current

    return install_current(lists_dir(), "snapshot-", lambda folder: write_snapshot(folder, doc, kb.name_words))


# --- parsers: bytes of a source -> parties per list ------------------------------------------------


def parse_csl(data: bytes, wanted: dict[str, dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """The Consolidated Screening List CSV (trade.gov): one row per party, ``source`` naming its list."""
    text = data.decode("utf-8-sig")
    reader = csv.DictReader(io.StringIO(text))
    missing = {"source", "name", "type", "alt_names", "addresses", "start_date", "programs", "ids"} - set(
        reader.fieldnames or ()
    )
    if missing:
        raise ValueError(f"not the Consolidated Screening List: no column {sorted(missing)}")
    out: dict[str, list[dict[str, Any]]] = {k: [] for k in wanted}
    for number, row in enumerate(reader, 2):
        list_id = next((k for k, v in wanted.items() if v["csl_source"] in row["source"]), None)
        if list_id is None or not row["name"].strip():
            continue
        kind = row["type"].strip().lower()
        if kind in ("vessel", "aircraft"):
            continue
        addresses = [a.strip() for a in row["addresses"].split(";") if a.strip()]
        codes = Counter(m.group(1) for a in addresses for m in [re.search(r",\s*([A-Z]{2})$", a)] if m)
        for column in ("nationalities", "citizenships"):
            codes.update(c.strip() for c in (row.get(column) or "").split(",") if len(c.strip()) == 2)
        want = wanted[list_id].get("countries")
        if want and not (set(codes) & set(want) or re.search(r"\b(China|Hong Kong)\b", row.get("remarks") or "")):
            continue
        out[list_id].append(
            make_party(
                list_id,
                row.get("entity_number") or row.get("_id") or str(number),
                row["name"],
                type="person" if kind == "individual" else "entity",
                aliases=[a for a in row["alt_names"].split(";")],
                country=codes.most_common(1)[0][0] if codes else None,
                program=row["programs"] or None,
                listed_on=row["start_date"] or None,
                identifiers=identifiers_in(row["ids"] + " " + (row.get("remarks") or "")),
                addresses=addresses,
            )
        )
    return out


class _Tables(HTMLParser):
    """Rows of every HTML table: lists of cell texts."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.rows: list[list[str]] = []
        self._cell: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "tr":
            self.rows.append([])
        elif tag in ("td", "th") and self.rows:
            self._cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self._cell is not None and self.rows:
            self.rows[-1].append(" ".join("".join(self._cell).split()))
            self._cell = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)


_DATE = re.compile(r"\b(\d{1,2})/(\d{1,2})/(\d{4})\b|\b(\d{4})-(\d{2})-(\d{2})\b")


def _iso(text: str) -> str | None:
    m = _DATE.search(text)
    if m is None:
        return None
    if m.group(1):
        return f"{m.group(3)}-{int(m.group(1)):02d}-{int(m.group(2)):02d}"
    return f"{m.group(4)}-{m.group(5)}-{m.group(6)}"


def parse_html_table(data: bytes, wanted: dict[str, dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """A page whose table lists one party per row, the name in the first cell (the UFLPA Entity
    List page); a date in the row is the date listed."""
    tables = _Tables()
    tables.feed(data.decode("utf-8", "replace"))
    (list_id,) = wanted
    out = []
    for number, row in enumerate(tables.rows):
        if not row or not row[0] or row[0].lower().startswith(("entity", "name")):
            continue  # the header row
        listed = next((d for d in map(_iso, row[1:]) if d), None)
        out.append(make_party(list_id, str(number), row[0], country="CN", listed_on=listed))
    return {list_id: out}


_PRODUCER = re.compile(r"(?:produced|provided) by ([A-Z][\w.&' -]+?)(?:,|\(| and its| including|\.|;|$)")


def parse_fcc(data: bytes, wanted: dict[str, dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """The FCC Covered List page: a table of covered equipment and services, each "produced or
    provided by" a named company, with the date it was added."""
    tables = _Tables()
    tables.feed(data.decode("utf-8", "replace"))
    (list_id,) = wanted
    seen: dict[str, dict[str, Any]] = {}
    for row in tables.rows:
        text = " ".join(row)
        listed = next((d for d in map(_iso, row) if d), None)
        for name in _PRODUCER.findall(text):
            name = name.strip()
            if name not in seen:
                key = re.sub(r"\W+", "-", name.lower()).strip("-")
                seen[name] = make_party(list_id, key, name, listed_on=listed)
    return {list_id: list(seen.values())}


PARSERS: dict[str, Callable[[bytes, dict[str, dict[str, Any]]], dict[str, list[dict[str, Any]]]]] = {
    "csl": parse_csl,
    "html-table": parse_html_table,
    "fcc-html": parse_fcc,
}

__all__ = ["UpdateReport", "fetch_url", "install_snapshot", "installed_snapshot", "update_lists"]
