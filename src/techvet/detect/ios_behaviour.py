"""iOS only: what the code can do (capabilities), how it resists analysis, and what could not be
read, from the signatures in ios.yaml.

A capability needs code evidence: a class, selector, C function or system framework the binary
uses (or, for the rules that are entitlements, the entitlement). The purpose string the system
shows (``NSLocationWhenInUseUsageDescription``) makes it certain; a purpose string without code
evidence is reported as tentative, since the code that would use it may be encrypted or elsewhere.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from techvet.app.reader import App
from techvet.detect._common import MAX_EVIDENCE, finding
from techvet.detect._ios_common import binary_sdks
from techvet.findings import Evidence, Finding
from techvet.ios.reader import IosApp, IosBinary
from techvet.knowledge import Knowledge


@dataclass(frozen=True)
class _Names:
    """One binary's names as sets, built once for every rule's lookups."""

    classes: frozenset[str]  # imported (_OBJC_CLASS_$_X) and defined
    selectors: frozenset[str]
    imports: frozenset[str]
    linked: frozenset[str]

    @classmethod
    def of(cls, binary: IosBinary) -> _Names:
        imported = {s[14:] for s in binary.imports if s.startswith("_OBJC_CLASS_$_")}
        return cls(
            frozenset(imported.union(binary.classes)),
            frozenset(binary.selectors),
            frozenset(binary.imports),
            frozenset(binary.system_libraries),
        )


def starting_with(binary: IosBinary, prefixes: tuple[str, ...], most: int = 8) -> list[str]:
    """The first ``most`` strings of ``binary`` that start with one of ``prefixes``: one regular
    expression over the strings joined once per binary (a test per string per rule cost a large
    app's scan a tenth of its time)."""
    joined = binary.joined_strings
    pattern = re.compile("\0(?:" + "|".join(map(re.escape, prefixes)) + ")")
    out = []
    for m in pattern.finditer(joined):
        end = joined.find("\0", m.start() + 1)
        out.append(joined[m.start() + 1 : end])
        if len(out) >= most:
            break
    return out


def _code_evidence(binary: IosBinary, names: _Names, sig: dict[str, Any], sdk: str | None) -> list[Evidence]:
    out = [Evidence(binary.path, f"uses class {c}", sdk=sdk) for c in sig.get("classes", ()) if c in names.classes]
    out += [Evidence(binary.path, f"calls {s}", sdk=sdk) for s in sig.get("selectors", ()) if s in names.selectors]
    out += [
        Evidence(binary.path, f"imports {s.lstrip('_')}()", sdk=sdk)
        for s in sig.get("symbols", ())
        if s in names.imports
    ]
    prefixes = tuple(sig.get("strings_prefix", ()))
    if prefixes:
        out += [Evidence(binary.path, f"string {s[:200]}", sdk=sdk) for s in starting_with(binary, prefixes)]
    if out:  # a linked framework supports what the code shows, never stands alone
        linked = names.linked
        out += [
            Evidence(binary.path, f"links {f}.framework", sdk=sdk) for f in sig.get("frameworks", ()) if f in linked
        ]
    return out


def _capabilities(
    ios: IosApp, kb: Knowledge, names: list[tuple[IosBinary, _Names]], owners: dict[str, str]
) -> list[Finding]:
    plist = f"{ios.root}Info.plist"
    out = []
    for rule_id, sig in kb.ios.get("signatures", {}).items():
        rule = kb.rules[rule_id]
        code: list[Evidence] = []
        for binary, known in names:
            code += _code_evidence(binary, known, sig, owners.get(binary.path))
        code += [Evidence(plist, f"entitlement {e}") for e in sig.get("entitlements", ()) if ios.entitlements.get(e)]
        needs = sig.get("needs_info_key")
        if needs and code:
            declared = ios.info.get(needs)
            if not isinstance(declared, list) or not declared:
                continue
            code.append(
                Evidence(plist, f"{needs} lists {len(declared)} URL schemes: {', '.join(map(str, declared[:8]))}")
            )
        usage = [k for k in sig.get("usage", ()) if isinstance(ios.info.get(k), str)]
        said = [Evidence(plist, f"{k}: {str(ios.info[k])[:160]}") for k in usage]
        if not code and not said:
            continue
        confidence = "certain" if code and (said or not sig.get("usage")) else "firm" if code else "tentative"
        capability = rule.capability or rule.name
        title = sig.get("title") or rule.title
        if not code:
            title = f"{title}: declared in Info.plist, no code using it was seen"
        main = ios.main.path if ios.main else None
        out.append(
            finding(
                rule,
                tuple((said + code)[:MAX_EVIDENCE]),
                subject=capability,
                title=title,
                confidence=confidence,
                capability=capability,
                # as Android's: whose code it is (the main binary's, with static SDKs in it, or an SDK's framework)
                in_app_code=any(ev.file == main for ev in code),
                in_sdks=sorted({ev.sdk for ev in code if ev.sdk}),
            )
        )
    return out


def _anti_analysis(kb: Knowledge, names: list[tuple[IosBinary, _Names]], owners: dict[str, str]) -> list[Finding]:
    out = []
    for rule_id, sig in kb.ios.get("anti_analysis", {}).items():
        evidence: list[Evidence] = []
        markers = tuple(sig.get("strings", ()))
        for binary, known in names:
            sdk = owners.get(binary.path)
            if markers:
                found = starting_with(binary, markers)
                evidence += [Evidence(binary.path, f"string {s[:200]}", sdk=sdk) for s in found]
            evidence += [
                Evidence(binary.path, f"imports {s.lstrip('_')}()", sdk=sdk)
                for s in sig.get("symbols", ())
                if s in known.imports
            ]
            if "_dlsym" in known.imports:  # a whole string equal to the name, as the set of strings held
                evidence += [
                    Evidence(binary.path, f"looks up {s}() by name (dlsym)", sdk=sdk)
                    for s in sig.get("dlsym_strings", ())
                    if f"\0{s}\0" in binary.joined_strings
                ]
        if evidence:
            rule = kb.rules[rule_id]
            out.append(
                finding(rule, tuple(evidence[:MAX_EVIDENCE]), subject=rule.name, title=sig.get("title") or rule.title)
            )
    return out


def detect(app: App, kb: Knowledge) -> list[Finding]:
    ios = app.ios
    if ios is None:
        return []
    names = [(binary, _Names.of(binary)) for binary in ios.binaries]  # once, for both passes
    owners = binary_sdks(app, kb)
    out = _capabilities(ios, kb, names, owners)
    out += _anti_analysis(kb, names, owners)
    encrypted = ios.encrypted
    if encrypted:
        out.append(
            finding(
                kb.rules["TV508"],
                tuple(Evidence(b.path, f"LC_ENCRYPTION_INFO cryptid 1 ({', '.join(b.archs)})") for b in encrypted[:4]),
                subject="fairplay",
                title=f"Code is encrypted (FairPlay): {', '.join(b.name for b in encrypted[:4])} not examined",
                binaries=[b.path for b in encrypted],
            )
        )
    return out
