"""A STIX 2.1 bundle (the files MVT's ``--iocs`` reads) read into an :class:`IndicatorIndex`, bounded.

A bundle is attacker-controlled like any input: it is refused, with one line naming the file and
the object, when it is over :data:`MAX_BUNDLE_BYTES`, not UTF-8, nested too deep for the JSON
reader, not a bundle, or when an indicator's pattern asks for something techvet cannot evaluate
exactly (see :mod:`techvet.iocs.pattern`): read without it, the file would say less than it does.

A value that cannot be what it claims (a "host name" with a path, a digest of the wrong length) or
that would match unrelated apps (a public suffix such as ``appspot.com``, a network of more than
:data:`MAX_NETWORK_ADDRESSES`, a shared service: techvet.iocs.shared) is left out and counted, as is
an indicator about something an app
or a capture does not show (a file path or a process on a phone,
an e-mail address, a configuration profile). Per family, ``techvet iocs show`` says how many were
left out and why: those belong to a forensic look at a device, which techvet is not.

Why not the ``stix2`` library: it builds a validated Python object per STIX object (a 10 MB bundle
takes seconds and hundreds of MB) and parses patterns with ANTLR; techvet needs five fields of two
object types.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

from techvet.iocs.index import Entry, Family, IndicatorIndex
from techvet.iocs.pattern import PatternError, parse_pattern
from techvet.iocs.values import MAX_ENTRIES, IndicatorFileError, Unusable, clean_text, normalised, texts

MAX_BUNDLE_BYTES = 16 << 20  # MVT's largest public bundles are a few MB
MAX_OBJECTS = 200_000
# JSON objects and arrays in a whole bundle, counted on the bytes before parsing (a brace inside a
# string counts too: the bound only errs towards refusing). Python holds each as 60-200 bytes, so
# 16 MiB of "{}," would take over 300 MB once read; MVT's bundles have 3-4 per STIX object.
MAX_CONTAINERS = 250_000

_OBSERVABLES = {
    "app:id": "app_id",
    "app:cert.sha1": "cert_sha1",
    "app:cert.sha256": "cert_sha256",
    "domain-name:value": "domain",
    "ipv4-addr:value": "ip",
    "ipv6-addr:value": "ip",
}
_FILE_SHA256 = re.compile(r"^file:hashes\.'?(sha-?256)'?$", re.IGNORECASE)
_FAMILY_TYPES = ("malware", "tool", "intrusion-set", "threat-actor", "campaign")


def observed(path: str) -> str | None:
    """The kind of fact an object path is compared with (techvet.iocs.index.KINDS), or None for a
    path no app or capture shows (a file path on a phone, a process, an e-mail address)."""
    return _OBSERVABLES.get(path) or ("file_sha256" if _FILE_SHA256.match(path) else None)


def read_bundle(path: str, index: IndicatorIndex | None = None, source: str | None = None) -> IndicatorIndex:
    """The indicators of the STIX 2.1 bundle at ``path``, added to ``index`` (a new one when None).
    ``source`` names where they come from (default: the file's name). Raises :class:`IndicatorFileError`."""
    shown = path
    try:
        size = os.path.getsize(path)
    except OSError as exc:
        raise IndicatorFileError(f"{shown}: cannot read ({exc.strerror})") from None
    if not Path(path).is_file():
        raise IndicatorFileError(f"{shown}: not a file")
    if size > MAX_BUNDLE_BYTES:
        raise IndicatorFileError(
            f"{shown}: {size >> 20} MiB, over the {MAX_BUNDLE_BYTES >> 20} MiB an indicator file may be"
        )
    with open(path, "rb") as handle:
        data = handle.read(MAX_BUNDLE_BYTES + 1)
    return bundle_index(data, shown, index, source or Path(path).name)


def bundle_index(
    data: bytes,
    shown: str,
    index: IndicatorIndex | None = None,
    source: str = "",
    licence: str = "as its publisher says",
    refs: tuple[str, ...] = (),
    default_date: str = "",
) -> IndicatorIndex:
    """The indicators of one bundle's bytes (``shown``: what errors call it), added to ``index``.
    ``refs``: reports documenting every family of the bundle (the bundled index's, from the
    source's own list of bundles)."""
    index = index if index is not None else IndicatorIndex()
    if len(data) > MAX_BUNDLE_BYTES:
        raise IndicatorFileError(f"{shown}: over the {MAX_BUNDLE_BYTES >> 20} MiB an indicator file may be")
    containers = data.count(b"{") + data.count(b"[")
    if containers > MAX_CONTAINERS:
        raise IndicatorFileError(
            f"{shown}: {containers} JSON objects and lists, over the {MAX_CONTAINERS} a bundle may hold"
        )
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise IndicatorFileError(f"{shown}: not UTF-8 text at byte {exc.start} (a STIX bundle is JSON)") from None
    try:
        doc = json.loads(text)
    except RecursionError:
        raise IndicatorFileError(f"{shown}: nested too deep to be a STIX bundle") from None
    except ValueError as exc:
        raise IndicatorFileError(f"{shown}: not JSON ({str(exc).splitlines()[0][:120]})") from None
    if not isinstance(doc, dict) or doc.get("type") != "bundle" or not isinstance(doc.get("objects"), list):
        raise IndicatorFileError(f"{shown}: not a STIX 2.1 bundle (a JSON object with type 'bundle' and its objects)")
    objects = doc["objects"]
    if len(objects) > MAX_OBJECTS:
        raise IndicatorFileError(f"{shown}: {len(objects)} objects, over the {MAX_OBJECTS} an indicator file may hold")
    _add_objects(objects, shown, index, source or shown, licence, refs, default_date)
    return index


def _add_objects(
    objects: list[Any],
    shown: str,
    index: IndicatorIndex,
    source: str,
    licence: str,
    refs: tuple[str, ...],
    default_date: str,
) -> None:
    by_id: dict[str, dict[str, Any]] = {}
    indicators: list[dict[str, Any]] = []
    targets: dict[str, list[str]] = {}  # indicator id -> family object ids
    for obj in objects:
        if not isinstance(obj, dict) or not isinstance(obj.get("type"), str) or not isinstance(obj.get("id"), str):
            raise IndicatorFileError(f"{shown}: an object without a type and an id (not a STIX 2.1 bundle)")
        kind = obj["type"]
        if kind in _FAMILY_TYPES or kind == "report":
            by_id[obj["id"]] = obj
        elif kind == "indicator":
            indicators.append(obj)
        elif kind == "relationship" and obj.get("relationship_type") == "indicates":
            source_ref, target_ref = obj.get("source_ref"), obj.get("target_ref")
            if isinstance(source_ref, str) and isinstance(target_ref, str):
                targets.setdefault(source_ref, []).append(target_ref)
    reports: dict[str, list[str]] = {}  # object id -> urls of the reports that name it
    for obj in by_id.values():
        if obj["type"] == "report":
            urls = _urls(obj)
            for ref in texts(obj.get("object_refs")):
                if isinstance(ref, str) and len(reports.setdefault(ref, [])) < 8:
                    reports[ref].extend(urls)
    families: dict[str, int] = {}

    def family_of(object_id: str | None) -> int:
        key = object_id or ""
        if key in families:
            return families[key]
        obj = by_id.get(object_id or "")
        if obj is None or obj["type"] == "report":
            family = Family(f"indicators of {Path(shown).name}", "", "", source, licence, default_date, refs)
        else:
            types = texts(obj.get("malware_types") or obj.get("tool_types"))
            kind = (clean_text(types[0], 40) if types else "") or "surveillance tool"
            when = obj.get("modified") or obj.get("created") or default_date
            found = tuple(dict.fromkeys([*refs, *_urls(obj), *reports.get(obj["id"], [])]))
            family = Family(
                clean_text(obj.get("name")) or clean_text(obj["id"], 120),
                kind,
                clean_text(obj.get("description"), 500),
                source,
                licence,
                when[:10] if isinstance(when, str) else default_date,
                found[:8],
            )
        families[key] = index.family(family)
        return families[key]

    added = 0  # counted as they are added: one indicator may multiply far past its bytes
    for obj in indicators:
        ident = clean_text(obj["id"], 120)
        if obj.get("revoked") is True:  # withdrawn by its publisher: no longer an indicator
            continue
        pattern = obj.get("pattern")
        if obj.get("pattern_type", "stix") != "stix":
            kind = clean_text(obj.get("pattern_type"), 40)
            raise IndicatorFileError(f"{shown}: indicator {ident}: a {kind} pattern (techvet reads STIX patterns)")
        if not isinstance(pattern, str):
            raise IndicatorFileError(f"{shown}: indicator {ident}: no pattern")
        owners: list[str | None] = list(
            dict.fromkeys(t for t in targets.get(obj["id"], []) if t in by_id and by_id[t]["type"] != "report")
        )
        try:
            alternatives = parse_pattern(pattern)
        except PatternError as exc:
            if exc.path is None or observed(exc.path):  # about what techvet sees: refused, never half-read
                raise IndicatorFileError(f"{shown}: indicator {ident}: {exc}") from None
            for owner in owners or [None]:  # about a phone's files or processes: counted, not checked
                index.skip(family_of(owner), exc.path.replace("'", ""))
            continue
        for owner in owners or [None]:  # an indicator no relationship ties to a family: the file's
            family = family_of(owner)
            entry = Entry(family, ident, "")
            added += sum(_add_alternative(index, family, entry, comparisons) for comparisons in alternatives)
            if added > MAX_ENTRIES:
                raise IndicatorFileError(f"{shown}: more than {MAX_ENTRIES} indicator values")


def _add_alternative(index: IndicatorIndex, family: int, entry: Entry, comparisons: list[tuple[str, str]]) -> int:
    """Add one alternative of a pattern (its comparisons must all hold); how many entries it added."""
    facts = []
    if any(_FILE_SHA256.match(path) for path, _ in comparisons):
        # a file's digest names it whatever it is called or however its size is given (MISP's
        # exports pair them): its other properties add nothing techvet could miss
        comparisons = [(p, v) for p, v in comparisons if not p.startswith("file:") or _FILE_SHA256.match(p)]
    for path, value in comparisons:
        kind = observed(path)
        if kind is None:
            index.skip(family, path.replace("'", ""))
            return 0  # a conjunction with a fact techvet never sees can never be confirmed
        try:
            facts.append((kind, normalised(kind, value)))
        except Unusable as exc:  # matches nothing as written (a URL for a host) or everything (a suffix)
            index.skip(family, f"{path.replace(chr(39), '')} ({exc.reason})")
            return 0
    if len(facts) == 1:
        index.add(*facts[0], entry)
    else:
        index.together.append((tuple(facts), entry))
    return 1


def _urls(obj: dict[str, Any]) -> list[str]:
    refs = texts(obj.get("external_references"))[:64]
    return [
        clean_text(r["url"], 500)
        for r in refs
        if isinstance(r, dict) and isinstance(r.get("url"), str) and r["url"].startswith(("https://", "http://"))
    ][:8]


__all__ = ["MAX_BUNDLE_BYTES", "IndicatorFileError", "bundle_index", "observed", "read_bundle"]
