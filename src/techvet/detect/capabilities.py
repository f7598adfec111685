"""What the app's code can do: one finding per capability rule, with the classes as evidence.

Each piece of evidence names the SDK whose code holds it, so "MobTech reads the IMEI" reads
differently from "the app reads the IMEI".

A permission-gated rule (``permission_gate`` in capabilities.yaml) drops the evidence that sits in
a platform compat library (Support Library, AndroidX) when the app requests none of the gate's
permissions: that code acts only for an app that holds the permission, so bundling it is not a
capability. Evidence in the app's own code or an SDK stays, and the finding then lists the
permissions the app does not request (``permission_not_requested``).
"""

from __future__ import annotations

from typing import Any

from techvet.app.code import Reference
from techvet.app.dex import java_name
from techvet.app.reader import App
from techvet.detect._code_refs import references, refs_for_rule
from techvet.detect._common import MAX_EVIDENCE, evidence_from, finding
from techvet.detect._flow import method_loads_string
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


def _manifest_receivers(app: App, kb: Knowledge, actions: set[str]) -> list[Evidence]:
    """Declared receivers whose intent filters take one of ``actions`` (an SMS_RECEIVED receiver)."""
    if app.manifest is None:
        return []
    out = []
    for c in app.manifest.components:
        if c.kind != "receiver":
            continue
        for action in sorted({a for f in c.intent_filters for a in f.actions} & actions):
            descriptor = "L" + c.name.replace(".", "/") + ";"
            out.append(
                Evidence(
                    "AndroidManifest.xml",
                    f"<receiver> for {action}",
                    class_name=c.name,
                    sdk=kb.sdk_for_class(descriptor),
                )
            )
    return out


def _in_compat_code(ref: Reference, compat: dict[str, Any], app: App) -> bool:
    """Whether ``ref`` sits in a platform compat library, by package or by the library's log tags."""
    if ref.class_name.startswith(tuple(compat.get("prefixes", ()))):
        return True
    tags = tuple(compat.get("method_strings", ()))
    if not tags or ref.site is None:
        return False
    dex = next((d for d in app.code.dexes if d.name == ref.dex), None)
    return dex is not None and method_loads_string(dex, ref.site, tags)


def _unrequested(rule: Rule, app: App) -> list[str]:
    """The permissions of ``rule``'s gate when the app requests none of them; else empty."""
    gate = rule.match.get("permission_gate")
    if not gate:
        return []
    wanted = [str(p) for p in gate["any_of"]]
    requested = set(app.manifest.permissions) if app.manifest else set()
    return [] if requested & set(wanted) else wanted


def _gate(rule: Rule, found: list[Reference], app: App) -> tuple[list[Reference], list[str]]:
    """The references that count under ``rule``'s permission gate, and the gate's permissions when
    the app requests none of them and some counted reference needs one (else an empty list)."""
    missing = _unrequested(rule, app)
    if not missing:
        return found, []
    gate = rule.match["permission_gate"]
    apis = set(gate.get("apis", ()))
    compat = gate.get("compat_code", {})
    kept = [r for r in found if not ((not apis or r.what in apis) and _in_compat_code(r, compat, app))]
    return kept, missing if any(not apis or r.what in apis for r in kept) else []


def detect(app: App, kb: Knowledge) -> list[Finding]:
    refs = references(app, kb)
    fired: dict[str, Finding] = {}
    for rule in kb.rules.values():
        if rule.capability is None:
            continue
        m = rule.match
        missing: list[str] = []  # a gate's permissions the app does not request
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
            found, missing = _gate(rule, refs_for_rule(rule, refs, app), app)
            calls = m.get("invoke") or m.get("invoke_in_context")
            verb = "calls" if calls and not m.get("strings") else "references"
            evidence = evidence_from(found, kb, verb)
            receivers = _manifest_receivers(app, kb, set(m.get("manifest_receiver_action", ())))
            if receivers:
                evidence = tuple([*receivers, *evidence][:MAX_EVIDENCE])
                missing = _unrequested(rule, app)
        if not evidence:
            continue
        needs_perm = m.get("requires_permission", ())
        if needs_perm and not (app.manifest and all(p in app.manifest.permissions for p in needs_perm)):
            continue
        if any(r not in fired for r in m.get("requires_rule", ())):
            continue
        own = [e for e in evidence if e.sdk is None]
        sdks = sorted({e.sdk for e in evidence if e.sdk})
        extra: dict[str, Any] = {"in_app_code": bool(own), "in_sdks": sdks}
        if missing:
            extra["permission_not_requested"] = missing
        fired[rule.id] = finding(rule, evidence, subject=rule.capability, capability=rule.capability, **extra)
    return list(fired.values())
