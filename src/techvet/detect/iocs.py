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
from techvet.findings import Evidence, Finding
from techvet.iocs import IndicatorIndex, Match
from techvet.knowledge import Knowledge

MAX_SHOWN = 8  # indicators listed per finding; the count says how many matched
_IDENTITY = ("app_id", "cert_sha1", "cert_sha256", "file_sha256")


def app_findings(app: App, findings: list[Finding], index: IndicatorIndex, kb: Knowledge) -> list[Finding]:
    """TV607 for each family an app matches: by package, certificate, file digest or named host."""
    seen: list[tuple[Match, tuple[Evidence, ...]]] = []
    facts: dict[str, set[str]] = {k: set() for k in (*_IDENTITY, "domain", "ip")}
    if app.package:
        facts["app_id"].add(app.package)
        where = (Evidence("AndroidManifest.xml", f"package {app.package}"),)
        seen += [(m, where) for m in index.match_values("app_id", [app.package])]
    for cert in app.certificates:
        where = (
            Evidence("signature", f"signing certificate {cert.subject}, SHA-1 {cert.sha1}, SHA-256 {cert.sha256}"),
        )
        for kind, value in (("cert_sha1", cert.sha1), ("cert_sha256", cert.sha256)):
            facts[kind].add(value)
            seen += [(m, where) for m in index.match_values(kind, [value])]
    for entry, digest in [(os.path.basename(app.path), app.sha256), *app.digests.items()]:
        facts["file_sha256"].add(digest)
        where = (Evidence(entry, f"SHA-256 {digest}"),)
        seen += [(m, where) for m in index.match_values("file_sha256", [digest])]
    for f in findings:
        host = f.extra.get("host") if f.rule in ("TV401", "TV402") else None
        if not isinstance(host, str):
            continue
        facts["domain" if not host[-1:].isdigit() else "ip"].add(host)
        seen += [(m, f.evidence[:2]) for m in index.match_host(host)]
    seen += [(m, ()) for m in index.match_together(facts)]
    return _by_family(seen, index, kb, None)


def capture_findings(contacted: dict[str, list[Evidence]], index: IndicatorIndex, kb: Knowledge) -> list[Finding]:
    """TV607 for each family whose hosts or addresses a capture shows: ``contacted`` maps each name
    looked up, named in TLS or HTTP, and each address contacted, to where the capture shows it."""
    seen = [(m, tuple(evidence[:2])) for name, evidence in contacted.items() for m in index.match_host(name)]
    looked_up = {name for name, ev in contacted.items() if all(e.detail.startswith("DNS") for e in ev)}
    return _by_family(seen, index, kb, looked_up)


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
        # the family's own reports beside the rule's references, for SARIF and the HTML page
        out.append(replace(found, refs=(*family.refs[:3], *found.refs)))
    return out


_ORDER = {"c2": 0, "distribution": 1, "": 2, "website": 3}


def _strength(match: Match) -> tuple[bool, int, bool]:
    """Strongest first: what the app is (package, signer, file), then C2 over download and sales
    hosts, a name before an address (a reader recognises it)."""
    return match.kind not in _IDENTITY, _ORDER.get(match.entry.role, 9), match.kind == "ip"
_ROLE_WORDS = {
    "c2": "one of its command servers",
    "distribution": "where it is downloaded",
    "website": "its sales site",
}


def _title(name: str, kind: str, first: Match, count: int, looked_up: set[str] | None) -> str:
    """One line a non-specialist understands: which tool, and the strongest thing that matched."""
    if first.kind == "app_id":
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
