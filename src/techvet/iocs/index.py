"""The indicator index: every exact value a known surveillance tool is recognised by, in hash tables.

An app or a capture is a handful of values to look up (a package name, two certificate digests, a
few file digests, a few hundred host names and addresses), so a match is a few hundred dictionary
probes whatever the number of indicators. A host matches an indicator naming it or one of its
parent domains (``x.c2.example`` matches ``c2.example``), never a public suffix: an indicator that is
one is refused when the index is built, so walking up a host's labels cannot reach ``appspot.com``.

Each indicator keeps its family, its own id and date when its source gives them, and its role
(``c2``, ``distribution``, ``website``, or none); each family keeps its source, licence, date and
the reports that document it. The index is the JSON document :func:`IndicatorIndex.to_doc` writes
(knowledge/data/iocs.json); a user's STIX bundles are merged into it for one run.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

# what an indicator is about, and the facts of an app or a capture it is compared with
KINDS = ("app_id", "cert_sha1", "cert_sha256", "file_sha256", "domain", "ip")
KIND_NAMES = {
    "combined": "facts",
    "app_id": "application id",
    "cert_sha1": "signing certificate SHA-1",
    "cert_sha256": "signing certificate SHA-256",
    "file_sha256": "file SHA-256",
    "domain": "host",
    "ip": "IP address",
}


class BadIndexError(ValueError):
    """An index document that is not one (a damaged or tampered iocs.json)."""


@dataclass(frozen=True, slots=True)
class Family:
    """A surveillance tool as its source names it, with where that knowledge comes from."""

    name: str
    kind: str  # spyware | stalkerware | ... as the source says; "" when it does not
    about: str  # one sentence from the source, "" when none
    source: str  # which source: mvt-indicators, stalkerware-indicators, or a user's bundle file
    licence: str
    date: str  # ISO date of the family's indicators (as the source dates them)
    refs: tuple[str, ...] = ()  # the reports that document it


@dataclass(frozen=True, slots=True)
class Entry:
    """One indicator's value, as it sits in a table: its family and what its source says of it."""

    family: int  # index into IndicatorIndex.families
    id: str = ""  # the STIX indicator id, or where in the source it is
    role: str = ""  # c2 | distribution | website | "" (the source does not say)


@dataclass(frozen=True, slots=True)
class Match:
    """A fact of an app or capture found among the indicators."""

    kind: str  # one of KINDS, or "combined" (several facts together)
    value: str  # the fact as seen (a host, a digest ...)
    indicator: str  # the indicator's value it matched (a parent domain of the host, a network ...)
    entry: Entry


@dataclass
class IndicatorIndex:
    """Families, and per kind of fact a table from each indicator value to its entries; networks
    (CIDR indicators) and combined indicators (``[a AND b]``) in short lists beside them; per
    family, what its sources gave that techvet does not check; and each source's provenance."""

    families: list[Family] = field(default_factory=list)
    tables: dict[str, dict[str, list[Entry]]] = field(default_factory=lambda: {k: {} for k in KINDS})
    networks: list[tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, Entry]] = field(default_factory=list)
    together: list[tuple[tuple[tuple[str, str], ...], Entry]] = field(default_factory=list)  # all must match
    not_checked: dict[int, dict[str, int]] = field(default_factory=dict)  # family -> observable -> count
    sources: list[dict[str, str]] = field(default_factory=list)  # provenance of each source
    _numbers: dict[tuple[str, str], int] = field(default_factory=dict, repr=False, compare=False)

    # --- building -------------------------------------------------------------------------------

    def family(self, family: Family) -> int:
        """The family's number, adding it when new (one per name and source)."""
        key = (family.name, family.source)
        if not self._numbers and self.families:  # families given to the constructor
            self._numbers.update({(f.name, f.source): n for n, f in enumerate(self.families)})
        if key not in self._numbers:
            self.families.append(family)
            self._numbers[key] = len(self.families) - 1
        return self._numbers[key]

    def add(self, kind: str, value: str, entry: Entry) -> None:
        """One indicator value (as techvet.iocs.values.normalised gives it: a network only as CIDR)."""
        if kind == "ip" and "/" in value:
            self.networks.append((ipaddress.ip_network(value), entry))
        else:
            self.tables[kind].setdefault(value, []).append(entry)

    def skip(self, family: int, observable: str, count: int = 1) -> None:
        """Count an indicator left out, under what it was about (and why, when that is the value)."""
        counts = self.not_checked.setdefault(family, {})
        counts[observable] = counts.get(observable, 0) + count

    def size(self) -> int:
        """How many indicator entries the index holds (a value of several families counts for each)."""
        return (
            sum(len(entries) for table in self.tables.values() for entries in table.values())
            + len(self.networks)
            + len(self.together)
        )

    def merged(self, other: IndicatorIndex) -> IndicatorIndex:
        """This index and ``other`` together (a user's bundles for one run); neither is changed."""
        out = IndicatorIndex(sources=list(self.sources))
        out._take(self, {n: out.family(f) for n, f in enumerate(self.families)})
        out._take(other, {n: out.family(f) for n, f in enumerate(other.families)})
        out.sources += [s for s in other.sources if s not in out.sources]
        return out

    def only(self, sources: set[str]) -> IndicatorIndex:
        """The families of ``sources`` and their indicators (an update keeps a source's in use)."""
        out = IndicatorIndex(sources=[s for s in self.sources if s.get("id") in sources])
        out._take(self, {n: out.family(f) for n, f in enumerate(self.families) if f.source in sources})
        return out

    def _take(self, other: IndicatorIndex, renumber: dict[int, int]) -> None:
        """Add ``other``'s entries of the families ``renumber`` maps (its number -> this index's)."""

        def moved(entry: Entry) -> Entry:
            return Entry(renumber[entry.family], entry.id, entry.role)

        for kind, table in other.tables.items():
            mine = self.tables[kind]
            for value, entries in table.items():
                kept = [moved(e) for e in entries if e.family in renumber]
                if kept:
                    mine.setdefault(value, []).extend(kept)
        self.networks += [(net, moved(e)) for net, e in other.networks if e.family in renumber]
        self.together += [(facts, moved(e)) for facts, e in other.together if e.family in renumber]
        for n, counts in other.not_checked.items():
            if n in renumber:
                for observable, count in counts.items():
                    self.skip(renumber[n], observable, count)

    # --- matching -------------------------------------------------------------------------------

    def match_values(self, kind: str, values: Iterable[str]) -> Iterator[Match]:
        """Exact matches of ``values`` (application ids, digests) in the ``kind`` table."""
        table = self.tables[kind]
        for value in values:
            for entry in table.get(value, ()):
                yield Match(kind, value, value, entry)

    def match_host(self, host: str) -> Iterator[Match]:
        """Indicators naming ``host`` or one of its parent domains; an address is looked up as one."""
        host = host.lower().rstrip(".")
        if is_address(host):
            yield from self.match_address(host)
            return
        domains = self.tables["domain"]
        name = host
        while "." in name:
            for entry in domains.get(name, ()):
                yield Match("domain", host, name, entry)
            name = name.partition(".")[2]

    def match_address(self, address: str) -> Iterator[Match]:
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return
        shown = str(ip)
        for entry in self.tables["ip"].get(shown, ()):
            yield Match("ip", shown, shown, entry)
        for network, entry in self.networks:
            if ip.version == network.version and ip in network:
                yield Match("ip", shown, str(network), entry)

    def match_together(self, facts: dict[str, set[str]]) -> Iterator[tuple[Match, tuple[tuple[str, str], ...]]]:
        """Combined indicators (``[a AND b]``) whose every comparison ``facts`` hold, each with its
        comparisons; the match's kind is ``combined`` and its value names every fact."""
        for comparisons, entry in self.together:
            if all(value in facts.get(kind, ()) for kind, value in comparisons):
                shown = " and ".join(f"{KIND_NAMES[k]} {v}" for k, v in comparisons)
                yield Match("combined", shown, shown, entry), comparisons

    # --- counting and (de)serialising -----------------------------------------------------------

    def counts(self) -> dict[int, dict[str, int]]:
        """Per family, how many values of each kind it has."""
        out: dict[int, dict[str, int]] = {}
        for kind, table in self.tables.items():
            for entries in table.values():
                for entry in entries:
                    mine = out.setdefault(entry.family, {})
                    mine[kind] = mine.get(kind, 0) + 1
        for _, entry in self.networks:
            mine = out.setdefault(entry.family, {})
            mine["ip"] = mine.get("ip", 0) + 1
        for _, entry in self.together:
            mine = out.setdefault(entry.family, {})
            mine["combined"] = mine.get("combined", 0) + 1
        return out

    def to_doc(self) -> dict[str, Any]:
        """The compact JSON form: entries as [family, id, role] lists, families once each."""

        def compact(entry: Entry) -> list[Any]:
            return [entry.family, entry.id, entry.role]

        return {
            "sources": self.sources,
            "families": [
                {
                    "name": f.name,
                    "kind": f.kind,
                    "about": f.about,
                    "source": f.source,
                    "licence": f.licence,
                    "date": f.date,
                    "refs": list(f.refs),
                }
                for f in self.families
            ],
            "indicators": {
                kind: {value: [compact(e) for e in entries] for value, entries in sorted(table.items())}
                for kind, table in self.tables.items()
            },
            "networks": [[str(net), compact(e)] for net, e in self.networks],
            "together": [[[list(c) for c in facts], compact(e)] for facts, e in self.together],
            "not_checked": {str(n): counts for n, counts in sorted(self.not_checked.items())},
        }

    @classmethod
    def from_doc(cls, doc: dict[str, Any]) -> IndicatorIndex:
        """The index from its JSON form. Raises :class:`BadIndexError` for a document of another shape."""
        try:
            families = [
                Family(
                    str(f["name"]),
                    str(f["kind"]),
                    str(f["about"]),
                    str(f["source"]),
                    str(f["licence"]),
                    str(f["date"]),
                    tuple(str(r) for r in f["refs"]),
                )
                for f in doc["families"]
            ]
            count = len(families)

            def entry(raw: list[Any]) -> Entry:
                family, ident, role = raw
                if not isinstance(family, int) or not 0 <= family < count:
                    raise ValueError(f"an entry names family {family!r}")
                return Entry(family, str(ident), str(role))

            tables: dict[str, dict[str, list[Entry]]] = {k: {} for k in KINDS}
            for kind, table in doc["indicators"].items():
                if kind not in tables:
                    raise ValueError(f"unknown kind of indicator {kind!r}")
                tables[kind] = {str(value): [entry(e) for e in entries] for value, entries in table.items()}
            networks = [(ipaddress.ip_network(net), entry(e)) for net, e in doc.get("networks", [])]
            together = [(tuple((str(k), str(v)) for k, v in facts), entry(e)) for facts, e in doc.get("together", [])]
            not_checked = {
                int(n): {str(k): int(v) for k, v in c.items()} for n, c in doc.get("not_checked", {}).items()
            }
            sources = [{str(k): str(v) for k, v in s.items()} for s in doc.get("sources", [])]
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise BadIndexError(f"not an indicator index ({type(exc).__name__}: {exc})") from None
        return cls(families, tables, networks, together, not_checked, sources)


def is_address(text: str) -> bool:
    """Whether a host as found (in code, a capture) is an IP address rather than a name."""
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


__all__ = ["KINDS", "KIND_NAMES", "BadIndexError", "Entry", "Family", "IndicatorIndex", "Match", "is_address"]
