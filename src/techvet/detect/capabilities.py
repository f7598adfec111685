"""What the app's code can do: one finding per capability rule, with the classes as evidence.

Each piece of evidence names the SDK whose code holds it, so "MobTech reads the IMEI" reads
differently from "the app reads the IMEI".
"""

from __future__ import annotations

from techvet.app.dex import java_name
from techvet.app.reader import App
from techvet.detect._code_refs import references, refs_for_rule
from techvet.detect._common import evidence_from, finding
from techvet.detect.tls import trust_all_evidence
from techvet.findings import Evidence, Finding
from techvet.knowledge import Knowledge, Rule


def _manifest_rule(app: App, rule: Rule) -> tuple[Evidence, ...]:
    m = rule.match
    if app.manifest is None:
        return ()
    perms = set(m.get("manifest_service_permission", ()))
    actions = set(m.get("manifest_service_action", ()))
    out = []
    for c in app.manifest.components:
        if c.kind != "service":
            continue
        if (c.permission in perms) or any(actions & set(f.actions) for f in c.intent_filters):
            out.append(
                Evidence(
                    "AndroidManifest.xml",
                    f"<service> {c.permission or 'accessibility intent filter'}",
                    class_name=c.name,
                )
            )
    return tuple(out)


def detect(app: App, kb: Knowledge) -> list[Finding]:
    refs = references(app, kb)
    fired: dict[str, Finding] = {}
    for rule in kb.rules.values():
        if rule.capability is None:
            continue
        m = rule.match
        if "manifest_service_permission" in m or "manifest_service_action" in m:
            evidence = _manifest_rule(app, rule)
        elif m.get("trust_all"):
            evidence = tuple(
                [*trust_all_evidence(app, kb, rule), *evidence_from(refs_for_rule(rule, refs, app), kb, "uses")][:8]
            )
        elif "defined_class_prefixes" in m:
            prefixes = tuple(m["defined_class_prefixes"])
            classes = [c for c in app.code.classes if c.startswith(prefixes)]
            evidence = tuple(
                Evidence(
                    app.code.classes[c][0].name,
                    "defines class",
                    class_name=java_name(c),
                    sdk=kb.sdk_for_class(c),
                )
                for c in classes[:8]
            )
        else:
            found = refs_for_rule(rule, refs, app)
            verb = "calls" if m.get("invoke") and not m.get("strings") else "references"
            evidence = evidence_from(found, kb, verb)
        if not evidence:
            continue
        needs_perm = m.get("requires_permission", ())
        if needs_perm and not (app.manifest and all(p in app.manifest.permissions for p in needs_perm)):
            continue
        if any(r not in fired for r in m.get("requires_rule", ())):
            continue
        own = [e for e in evidence if e.sdk is None]
        sdks = sorted({e.sdk for e in evidence if e.sdk})
        fired[rule.id] = finding(
            rule, evidence, subject=rule.capability, capability=rule.capability, in_app_code=bool(own), in_sdks=sdks
        )
    return list(fired.values())
