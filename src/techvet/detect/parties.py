"""Who is behind the app: its maker, its SDKs' vendors, its destinations' owners and the networks
its servers sit on against the restriction lists, and its package and name against app-ban orders.

This runs after the other detectors because it screens what they found (SDK vendors, destination
owners). In a scan a name matches when its comparable form equals a listed one (legal forms
dropped, Han script transliterated: techvet.screen.names), a lookup that costs microseconds per
name; ``techvet screen`` adds scored fuzzy matching for supplier files. The app's label is scored
against the few hundred banned app names (a re-packaged clone keeps the name, not the form).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from techvet.app.reader import App
from techvet.detect._common import finding
from techvet.findings import Evidence, Finding
from techvet.knowledge import Knowledge
from techvet.screen.names import NameWords, han_key, has_han, name_forms

_APP_NAME_MIN = 90.0  # token-sort ratio (0-100) of a label to a banned app's name
_GENERIC_PACKAGE_LABELS = frozenset({"com", "org", "net", "cn", "io", "android", "app", "apps", "mobile", "example"})


@dataclass(frozen=True)
class PartyFacts:
    """What screening needs to know of an app besides its findings: its package, its label and its
    signers' subjects. Small on purpose: a stored scan keeps these (they are in its JSON result), so
    when the lists change its parties are screened again without reading the app again."""

    package: str | None
    label: str | None
    certificate_subjects: tuple[str, ...]

    @classmethod
    def of_app(cls, app: App) -> PartyFacts:
        return cls(
            app.package, app.manifest.label if app.manifest else None, tuple(c.subject for c in app.certificates)
        )

    @classmethod
    def of_result(cls, doc: dict[str, Any]) -> PartyFacts:
        """From a scan's JSON result (``ScanResult.to_dict``), read as untrusted."""
        app_doc, certs_doc = doc.get("app"), doc.get("certificates")
        app: dict[str, Any] = app_doc if isinstance(app_doc, dict) else {}
        certs: list[Any] = certs_doc if isinstance(certs_doc, list) else []
        subjects = tuple(str(c.get("subject", "")) for c in certs if isinstance(c, dict))
        package, label = app.get("package"), app.get("label")
        return cls(package if isinstance(package, str) else None, label if isinstance(label, str) else None, subjects)


SCREENING_RULES = frozenset({"TV601", "TV602", "TV603", "TV604", "TV605", "TV606"})
"""The rules this module gives: a stored scan judged again drops these and screens anew."""


def detect(app: App, findings: list[Finding], kb: Knowledge) -> list[Finding]:
    return detect_facts(PartyFacts.of_app(app), findings, kb)


def detect_facts(facts: PartyFacts, findings: list[Finding], kb: Knowledge) -> list[Finding]:
    """The screening findings for an app known by ``facts`` and its other ``findings``."""
    forms = kb.restriction_forms
    words = kb.name_words
    out: list[Finding] = []
    package = facts.package
    banned_here: set[int] = set()
    if package:
        for i in forms.by_package.get(package, ()):
            banned_here.add(i)
            party = forms.party(i)
            ev = Evidence("AndroidManifest.xml", f"package {package}")
            title = f"Package {package} is named in {party['program']}"
            out.append(_finding(kb, "TV603", [party], ev, subject=package, title=title))
    label = facts.label
    # the ban orders name apps in Latin script; a Han label is compared by its maker, not its name
    if label and not label.startswith("@") and not has_han(label):
        out.extend(_banned_names(kb, label, banned_here, words))
    for name, evidence in _maker_names(facts):
        for group in _by_list(_listed(name, words, kb)):
            title = f"App maker {name!r} matches {group[0]['list']}: {_names(group)}"
            out.append(_finding(kb, "TV601", group, evidence, subject=name, title=title))
    vendors: dict[str, list[str]] = {}
    for f in findings:
        if f.rule in ("TV301", "TV302", "TV303") and f.party:
            vendors.setdefault(f.party, []).append(f.subject or f.title)
    for vendor, sdks in sorted(vendors.items()):
        for group in _by_list(_listed(vendor, words, kb)):
            ev = Evidence("SDK catalogue", f"vendor of {', '.join(sorted(set(sdks)))}: {vendor}")
            title = f"SDK vendor {vendor!r} matches {group[0]['list']}: {_names(group)}"
            out.append(_finding(kb, "TV602", group, ev, subject=vendor, title=title))
    out.extend(destination_findings([f.extra.get("destination") for f in findings], kb))
    return out


def destination_findings(destinations: list[Any], kb: Knowledge) -> list[Finding]:
    """TV605 and TV606 over destination rows (a finding's ``destination``, or a capture's row):
    hosts whose owner (or its parent company) is listed, one finding per owner and list; and servers
    on a network run by a listed company, one finding per network owner and list. Shared by scans
    (hosts the code names) and captures (hosts contacted), so the same destinations meet the same
    policy lines however they were found; owner and network are screened apart, as they are facts
    about different things (the name, the server)."""
    owned: dict[tuple[str, str], set[str]] = {}  # (owner, parent) -> hosts
    networks: dict[str, set[str]] = {}  # network owner -> hosts or addresses
    for place in destinations:
        if not isinstance(place, dict):
            continue
        where = str(place.get("host") or place.get("input") or place.get("ip") or "")
        if place.get("owner"):
            owned.setdefault((place["owner"], place.get("parent") or place["owner"]), set()).add(where)
        if place.get("network_owner"):
            networks.setdefault(place["network_owner"], set()).add(where)
    words = kb.name_words
    out = []
    for (owner, parent), hosts in sorted(owned.items()):
        matched = _listed(owner, words, kb)
        matched += [p for p in _listed(parent, words, kb) if p not in matched]
        shown = _few(hosts)
        whose = owner if parent == owner else f"{owner} (parent: {parent})"
        for group in _by_list(matched):
            ev = Evidence("destinations", f"{shown} owned by {whose} (techvet whois)")
            title = f"Talks to {shown}, owned by {whose}, on {group[0]['list']}"
            out.append(_finding(kb, "TV605", group, ev, subject=owner, title=title, hosts=sorted(hosts)))
    for network_owner, hosts in sorted(networks.items()):
        shown = _few(hosts)
        for group in _by_list(_listed(network_owner, words, kb)):
            ev = Evidence("destinations", f"{shown} on a network run by {network_owner} (techvet whois)")
            title = f"Talks to {shown} on {network_owner}'s network, on {group[0]['list']}"
            out.append(_finding(kb, "TV606", group, ev, subject=network_owner, title=title, hosts=sorted(hosts)))
    return out


def _few(hosts: set[str]) -> str:
    return ", ".join(sorted(hosts)[:4]) + (f" and {len(hosts) - 4} more" if len(hosts) > 4 else "")


def _listed(name: str, words: NameWords, kb: Knowledge) -> list[dict[str, Any]]:
    """Listed parties (not people, not apps) whose comparable form equals one of ``name``'s; a
    Han-script name is looked up as written (legal forms dropped), which needs no converter."""
    forms = kb.restriction_forms
    out = []
    seen: set[int] = set()
    if has_han(name):
        found = [forms.by_han(han_key(name, words))]
    else:
        found = [forms.by_form(" ".join(form)) for form in name_forms(name, words)]
    for indices in found:
        for i in indices:
            if i not in seen:
                seen.add(i)
                out.append(forms.party(i))
    return out


_SUBJECT_PART = re.compile(r", (?=[A-Z][A-Za-z/ ]+: )")  # "Organization: SZ DJI Technology Co., Ltd., Country: CN"
_MAKER_FIELDS = ("Organization", "Organizational Unit", "Common Name")
_NOT_A_MAKER = frozenset({"android", "android debug", "unknown", "debug", "test", "release"})


def _maker_names(app: PartyFacts) -> list[tuple[str, Evidence]]:
    """Names that say who made the app: the signing certificates' organisation, unit and common
    name, the package name's organisation label (``dji`` in ``dji.go.v4``, ``tencent`` in
    ``com.tencent.mm``), and the app's label."""
    out: list[tuple[str, Evidence]] = []
    for subject in app.certificate_subjects:
        for part in _SUBJECT_PART.split(subject):
            key, _, value = part.partition(": ")
            if key in _MAKER_FIELDS and value.strip() and value.strip().lower() not in _NOT_A_MAKER:
                out.append((value.strip(), Evidence("signing certificate", f"subject {subject}")))
    if app.package:
        labels = app.package.split(".")
        org = labels[1] if len(labels) > 2 and labels[0] in _GENERIC_PACKAGE_LABELS else labels[0]
        if org not in _GENERIC_PACKAGE_LABELS and len(org) >= 3:
            out.append((org, Evidence("AndroidManifest.xml", f"package {app.package} (organisation label {org!r})")))
    label = app.label
    if label and not label.startswith("@"):
        out.append((label, Evidence("AndroidManifest.xml", f"label {label!r}")))
    unique: dict[str, Evidence] = {}
    for name, ev in out:
        unique.setdefault(name, ev)
    return list(unique.items())


def _banned_names(kb: Knowledge, label: str, banned_here: set[int], words: NameWords) -> list[Finding]:
    out = []
    label_forms = [" ".join(f) for f in name_forms(label, words)]
    best: dict[int, float] = {}
    # Only banned names sharing a naming word (4+ letters, not a generic one) with the label, or
    # the first four letters of their sorted words, are scored: a clone keeps a word or the start
    # of the name. That is a blocking choice, not a proof: it keeps the comparisons few.
    for mine in label_forms:
        naming = {w for w in mine.split() if len(w) >= 4 and w not in words.generic}
        head = "".join(sorted(mine.split()))[:4]
        alike = [
            (form, i)
            for form, i, form_words, form_head in kb.restriction_forms.app_form_index
            if i not in banned_here and (naming & form_words or form_head == head)
        ]
        if not alike:
            continue
        for form, i in alike:
            score = token_sort_ratio(mine, form)
            if score >= _APP_NAME_MIN and score > best.get(i, 0.0):
                best[i] = score
    for i, score in sorted(best.items(), key=lambda x: -x[1]):
        party = kb.restriction_forms.party(i)
        ev = Evidence("AndroidManifest.xml", f"label {label!r}")
        title = f"App name {label!r} is like {party['name']!r}, named in {party['program']}"
        score_note = {"score": round(score / 100, 3)}
        out.append(_finding(kb, "TV604", [party], ev, subject=label, title=title, confidence="tentative", **score_note))
    return out


def token_sort_ratio(a: str, b: str) -> float:
    """rapidfuzz's ``fuzz.token_sort_ratio`` (0-100) for two names: the Indel similarity of the
    names with their words sorted. Written out (a bit-parallel LCS, Hyyro 2004) because a scan
    compares a label with a handful of names, and importing rapidfuzz would cost every such scan
    more than all its comparisons; tests check it equals rapidfuzz's."""
    a, b = " ".join(sorted(a.split())), " ".join(sorted(b.split()))
    if not a and not b:
        return 100.0
    masks: dict[str, int] = {}
    for i, ch in enumerate(a):
        masks[ch] = masks.get(ch, 0) | (1 << i)
    full = (1 << len(a)) - 1
    v = full
    for ch in b:
        u = v & masks.get(ch, 0)
        v = ((v + u) | (v - u)) & full
    lcs = len(a) - bin(v).count("1")
    return 100.0 * 2 * lcs / (len(a) + len(b))


def _by_list(parties: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    groups: dict[str, list[dict[str, Any]]] = {}
    for party in parties:
        groups.setdefault(party["list"], []).append(party)
    return [groups[k] for k in sorted(groups)]


def _names(group: list[dict[str, Any]]) -> str:
    shown = "; ".join(p["name"] for p in group[:2])
    return shown + (f" (+{len(group) - 2} more entries)" if len(group) > 2 else "")


def _finding(
    kb: Knowledge,
    rule_id: str,
    group: list[dict[str, Any]],
    evidence: Evidence,
    subject: str,
    title: str,
    confidence: str = "firm",
    **extra: Any,
) -> Finding:
    """One finding per list: the entries of that list that matched, with the list's date."""
    first = group[0]
    meta = kb.restriction_forms.lists[first["list"]]
    entries = [
        {"party_id": p["id"], "name": p["name"], "program": p.get("program"), "listed_on": p.get("listed_on")}
        for p in group
    ]
    return finding(
        kb.rules[rule_id],
        (evidence,),
        subject=subject,
        confidence=confidence,
        title=title,
        country=first.get("country"),
        party=first["name"],
        list=first["list"],
        list_title=meta["title"],
        list_as_of=meta["as_of"],
        entries=entries,
        **extra,
    )


__all__ = ["SCREENING_RULES", "PartyFacts", "destination_findings", "detect", "detect_facts"]
