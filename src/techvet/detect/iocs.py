"""Known surveillance tools: an app's identity, files and hosts, or a capture's destinations, found
among published indicators (TV607), one finding per tool with every indicator that matched.

Runs after the other detectors, as :mod:`techvet.detect.parties` does: the hosts an app names are
the ones the endpoint detector found (with the code that names them as evidence). The index comes
from the caller (:func:`techvet.iocs.installed_index`, or with the user's ``--iocs`` bundles merged).
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import replace

from techvet.app.reader import App
from techvet.detect._common import finding
from techvet.findings import Evidence, Finding, Severity
from techvet.iocs import IndicatorIndex, Match
from techvet.iocs.index import is_address
from techvet.knowledge import Knowledge

MAX_SHOWN = 8  # indicators listed per finding; the count says how many matched
_IDENTITY = ("app_id", "cert_sha1", "cert_sha256", "file_sha256")


def app_findings(app: App, findings: list[Finding], index: IndicatorIndex, kb: Knowledge) -> list[Finding]:
    """TV607 for each family an app matches: by package, certificate, file digest or named host."""
    seen: list[tuple[Match, tuple[Evidence, ...]]] = []
    where: dict[tuple[str, str], tuple[Evidence, ...]] = {}  # each fact of the app, and where it shows

    def fact(kind: str, value: str, evidence: tuple[Evidence, ...]) -> None:
        where.setdefault((kind, value), evidence)

    if app.package:
        fact("app_id", app.package, (Evidence("AndroidManifest.xml", f"package {app.package}"),))
    for cert in app.certificates:
        signer = (
            Evidence("signature", f"signing certificate {cert.subject}, SHA-1 {cert.sha1}, SHA-256 {cert.sha256}"),
        )
        fact("cert_sha1", cert.sha1, signer)
        fact("cert_sha256", cert.sha256, signer)
    for entry, digest in [(os.path.basename(app.path), app.sha256), *app.digests.items()]:
        fact("file_sha256", digest, (Evidence(entry, f"SHA-256 {digest}"),))
    for (kind, value), evidence in list(where.items()):
        seen += [(m, evidence) for m in index.match_values(kind, [value])]
    for f in findings:
        host = f.extra.get("host") if f.rule in ("TV401", "TV402") else None
        if isinstance(host, str) and host:
            host = host.lower()
            fact("ip" if is_address(host) else "domain", host, f.evidence[:2])
            seen += [(m, f.evidence[:2]) for m in index.match_host(host)]
    seen += _together(index, where)
    return _by_family(seen, index, kb, None)


def capture_findings(
    contacted: dict[str, list[Evidence]], looked_up: set[str], index: IndicatorIndex, kb: Knowledge
) -> list[Finding]:
    """TV607 for each family whose hosts or addresses a capture shows: ``contacted`` maps each name
    looked up, named in TLS or HTTP, and each address contacted, to where the capture shows it;
    ``looked_up``: the names it shows only asked of DNS, never contacted."""
    where = {("ip" if is_address(name) else "domain", name): tuple(ev[:2]) for name, ev in contacted.items()}
    seen = [(m, ev) for (_, name), ev in where.items() for m in index.match_host(name)]
    return _by_family([*seen, *_together(index, where)], index, kb, looked_up)


def _together(
    index: IndicatorIndex, where: dict[tuple[str, str], tuple[Evidence, ...]]
) -> list[tuple[Match, tuple[Evidence, ...]]]:
    """Combined indicators (``[a AND b]``) whose every fact the app or capture shows, with the
    evidence of each fact."""
    facts: dict[str, set[str]] = {}
    for kind, value in where:
        facts.setdefault(kind, set()).add(value)
    out = []
    for match, comparisons in index.match_together(facts):
        evidence: list[Evidence] = []
        for comparison in comparisons:
            evidence += [e for e in where.get(comparison, ()) if e not in evidence]
        out.append((match, tuple(evidence)))
    return out


def _by_family(
    seen: Iterable[tuple[Match, tuple[Evidence, ...]]],
    index: IndicatorIndex,
    kb: Knowledge,
    looked_up: set[str] | None,
) -> list[Finding]:
    """One finding per family. ``looked_up``: None for an app (its hosts are named in code); for a
    capture, the names it only shows asked of DNS (the others it shows contacted)."""
    grouped: dict[int, list[tuple[Match, tuple[Evidence, ...]]]] = {}
    for match, where in seen:
        grouped.setdefault(match.entry.family, []).append((match, where))
    rule = kb.rules["TV607"]
    out = []
    for number, matches in sorted(grouped.items()):
        family = index.families[number]
        unique = list({(m.kind, m.value, m.indicator, m.entry.role): (m, ev) for m, ev in matches}.values())
        unique.sort(key=lambda item: _strength(item[0]))
        evidence: list[Evidence] = []
        for _, ev in unique:
            evidence += [e for e in ev if e not in evidence]
        only_hosts = all(m.kind in ("domain", "ip") for m, _ in unique)
        weakest = only_hosts and all(m.entry.role == "website" for m, _ in unique)
        found = finding(
            rule,
            tuple(evidence[:MAX_SHOWN]),
            subject=family.name,
            confidence="tentative" if weakest else "firm" if only_hosts else "certain",
            title=_title(family.name, family.kind, unique[0][0], len(unique), looked_up),
            family={
                "name": family.name,
                "kind": family.kind,
                "about": family.about,
                "source": family.source,
                "licence": family.licence,
                "date": family.date,
                "reports": list(family.refs),
            },
            indicators=[
                {
                    "kind": m.kind,
                    "seen": m.value,
                    "indicator": m.indicator,
                    "id": m.entry.id,
                    **({"role": m.entry.role} if m.entry.role else {}),
                }
                for m, _ in unique[:MAX_SHOWN]
            ],
            matched=len(unique),
        )
        # the family's own reports beside the rule's references, for SARIF and the HTML page; a
        # sales site named alone is weaker (an article, a security app's block list names it too):
        # high, which the default policy warns of rather than blocks
        severity = Severity.HIGH if weakest else found.severity
        out.append(replace(found, refs=(*family.refs[:3], *found.refs), severity=severity))
    return out


_ORDER = {"c2": 0, "distribution": 1, "": 2, "website": 3}


def _strength(match: Match) -> tuple[bool, int, bool]:
    """Strongest first: what the app is (package, signer, file, or several facts together), then
    C2 over download and sales hosts, a name before an address (a reader recognises it)."""
    return match.kind not in (*_IDENTITY, "combined"), _ORDER.get(match.entry.role, 9), match.kind == "ip"


_ROLE_WORDS = {
    "c2": "one of its command servers",
    "distribution": "where it is downloaded",
    "website": "its sales site",
}


def _title(name: str, kind: str, first: Match, count: int, looked_up: set[str] | None) -> str:
    """One line a non-specialist understands: which tool, and the strongest thing that matched."""
    if first.kind == "combined":
        how = f"its {first.value} are, together, one of that tool's indicators"
    elif first.kind == "app_id":
        how = f"its package name {first.value} is one of that tool's apps"
    elif first.kind in ("cert_sha1", "cert_sha256"):
        how = "it is signed with that tool's signing certificate"
    elif first.kind == "file_sha256":
        how = f"a file in it is one of that tool's files (SHA-256 {first.value[:16]}…)"
    else:
        verb = "names" if looked_up is None else "looks up" if first.value in looked_up else "contacts"
        role = _ROLE_WORDS.get(first.entry.role, "one of that tool's hosts")
        via = f" (under {first.indicator})" if first.indicator != first.value else ""
        how = f"it {verb} {first.value}{via}, {role}"
    more = f"; {count - 1} more indicator{'s' if count > 2 else ''}" if count > 1 else ""
    return f"Known {kind or 'surveillance tool'} {name}: {how}{more}"


__all__ = ["app_findings", "capture_findings"]
