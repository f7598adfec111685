"""iOS only: the SDKs inside an app, by the binaries they ship, their Objective-C classes and their
resource bundles (``ios:`` in sdks.yaml), and the frameworks no catalogue names (TV304).

An SDK linked statically leaves no framework behind: its classes are in the main executable, and
exact class names (``WeiboSDK``) or vendor-long prefixes (``QQApi``) find it there. A framework
the catalogue does not know is third-party code all the same, and is said to be unidentified
rather than passed over in silence, with the hosts its strings name.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from techvet.app.reader import App
from techvet.detect._common import MAX_EVIDENCE, finding
from techvet.detect._ios_common import binary_name, binary_sdks
from techvet.detect.ios_endpoints import binary_hosts
from techvet.detect.sdks import embeds
from techvet.findings import Evidence, Finding
from techvet.knowledge import Knowledge
from techvet.place import attribute


@dataclass
class _Seen:
    evidence: list[Evidence] = field(default_factory=list)
    classes: int = 0
    frameworks: list[str] = field(default_factory=list)


def detect(app: App, kb: Knowledge) -> list[Finding]:
    if app.ios is None:
        return []
    tables = kb.ios_sdk_index
    by_binary = binary_sdks(app, kb)
    seen: dict[str, _Seen] = {}
    for binary in app.ios.binaries:
        owner = by_binary.get(binary.path)
        if owner is not None:
            item = seen.setdefault(owner, _Seen())
            item.frameworks.append(binary.name)
            item.evidence.append(Evidence(binary.path, f"{binary.role} {binary.name}", sdk=owner))
        counted: dict[str, list[str]] = {}
        for name in binary.classes:
            sdk_id = tables.class_sdk(name)
            if sdk_id is not None:
                counted.setdefault(sdk_id, []).append(name)
        for sdk_id, names in counted.items():
            item = seen.setdefault(sdk_id, _Seen())
            item.classes += len(names)
            item.evidence.append(
                Evidence(
                    binary.path,
                    f"{len(names)} Objective-C {'class' if len(names) == 1 else 'classes'} of the SDK",
                    class_name=names[0],
                    sdk=sdk_id,
                )
            )
    for bundle in app.ios.bundles:
        sdk_id = tables.bundles.get(bundle.casefold())
        if sdk_id is not None:
            item = seen.setdefault(sdk_id, _Seen())
            item.evidence.append(Evidence(f"{app.ios.root}{bundle}", "resource bundle of the SDK", sdk=sdk_id))
    rule = kb.rules["TV301"]
    out = []
    for sdk_id, item in sorted(seen.items()):
        sdk = kb.sdks[sdk_id]
        strong = bool(item.frameworks) or item.classes >= 3
        assert sdk.ios is not None
        evidence = tuple(item.evidence[:MAX_EVIDENCE])
        confidence = "certain" if strong else "firm"
        found = embeds(
            rule, sdk, evidence, confidence, sdk.ios.source, classes=item.classes, frameworks=item.frameworks
        )
        out.append(found)
    out.extend(_unidentified(app, kb, by_binary))
    return out


def _own(app_id: str | None, framework_id: str | None) -> bool:
    """Whether a framework is the app maker's own: its bundle identifier shares the app's first
    two labels (``com.sina.weibo`` and ``com.sina.WeiboCore``), as a maker's identifiers do."""
    if not app_id or not framework_id:
        return False
    mine, theirs = app_id.casefold().split("."), framework_id.casefold().split(".")
    return len(mine) >= 3 and len(theirs) >= 3 and mine[:2] == theirs[:2]


def _unidentified(app: App, kb: Knowledge, by_binary: dict[str, str]) -> list[Finding]:
    """TV304 for each framework or dylib no catalogue names (the platform's own left out)."""
    assert app.ios is not None
    platform = tuple(kb.ios.get("platform_binaries", ()))
    libraries = {str(n).casefold() for n in kb.ios.get("libraries", ())}
    rule = kb.rules["TV304"]
    named = binary_hosts(app, kb)
    out = []
    for binary in app.ios.binaries:
        if binary.role not in ("framework", "dylib") or binary.path in by_binary or binary.name.startswith(platform):
            continue
        if binary_name(binary) in libraries or _own(app.package, binary.bundle_id):
            continue
        hosts = named.get(binary.path, {})
        every = sorted(hosts, key=lambda h: (not hosts[h], h))
        destinations = [attribute(h, kb).to_dict() for h in every]
        countries = {d.get("owner_country") for d in destinations if d.get("owner_country")}
        evidence = [
            Evidence(binary.path, f"{binary.role} {binary.name}: {len(binary.classes)} Objective-C classes defined")
        ]
        evidence += [
            Evidence(binary.path, f"names host {h}" + (" over http://" if hosts[h] else "")) for h in every[:3]
        ]
        out.append(
            finding(
                rule,
                tuple(evidence),
                subject=binary.name,
                title=f"Carries unidentified third-party code: {binary.role} {binary.name}"
                + (
                    f" ({len(binary.classes)} {'class' if len(binary.classes) == 1 else 'classes'})"
                    if binary.classes
                    else ""
                ),
                confidence="firm",
                country=countries.pop() if len(countries) == 1 else None,
                component=binary.name,
                packages=[],
                classes=len(binary.classes),
                hosts=every[:20],
                cleartext_hosts=[h for h in every if hosts[h]][:20],
                hosts_total=len(every),
                capabilities=[],
                destinations=destinations,
            )
        )
    return out
