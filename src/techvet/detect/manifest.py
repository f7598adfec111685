"""Manifest risks: debuggable, backup, cleartext, exported components, install permission."""

from __future__ import annotations

from techvet.app.reader import App
from techvet.detect._common import finding
from techvet.findings import Evidence, Finding
from techvet.knowledge import Knowledge

_MANIFEST = "AndroidManifest.xml"


def detect(app: App, kb: Knowledge) -> list[Finding]:
    m = app.manifest
    if m is None:
        return []
    rules = kb.rules
    out = []
    if m.debuggable:
        out.append(finding(rules["TV101"], (Evidence(_MANIFEST, 'application android:debuggable="true"'),)))
    if m.allow_backup is not False:
        detail = (
            'application android:allowBackup="true"'
            if m.allow_backup
            else "application has no android:allowBackup (platform default: true)"
        )
        out.append(
            finding(rules["TV102"], (Evidence(_MANIFEST, detail),), confidence="certain" if m.allow_backup else "firm")
        )
    if m.uses_cleartext_traffic:
        out.append(finding(rules["TV103"], (Evidence(_MANIFEST, 'application android:usesCleartextTraffic="true"'),)))
    if "android.permission.REQUEST_INSTALL_PACKAGES" in m.permissions:
        out.append(
            finding(
                rules["TV105"], (Evidence(_MANIFEST, "uses-permission android.permission.REQUEST_INSTALL_PACKAGES"),)
            )
        )
    exposed = [c for c in m.components if c.effectively_exported and not c.permission and not c.is_launcher]
    for c in exposed:
        how = "exported" if c.exported else "exported through an intent filter"
        out.append(
            finding(
                rules["TV104"],
                (Evidence(_MANIFEST, f"<{c.kind}> {how}, no permission", class_name=c.name),),
                subject=c.name,
                title=f"{c.kind.capitalize()} {c.name} reachable by any app",
            )
        )
    nsc = app.network_security
    where = m.network_security_config or "network security config"
    if nsc is not None:
        for rule_id, subject, scopes, said in (
            ("TV106", "cleartext", nsc.cleartext_scopes, "cleartextTrafficPermitted=true for"),
            ("TV107", "user-cas", nsc.user_ca_scopes, "trust-anchors include user certificates for"),
            ("TV108", "pinning", nsc.pinned_domains, "pin-set for"),
        ):
            if scopes:
                evidence = (Evidence(where, f"{said} {', '.join(scopes[:10])}"),)
                out.append(finding(rules[rule_id], evidence, subject=subject, scopes=scopes))
    return out
