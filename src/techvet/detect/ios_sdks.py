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
from techvet.detect.ios_endpoints import binary_hosts
from techvet.detect.sdks import embeds
from techvet.findings import Evidence, Finding
from techvet.ios.reader import IosBinary
from techvet.knowledge import Knowledge
from techvet.place import attribute

_CACHE_KEY = "ios_binary_sdks"


@dataclass
class _Seen:
    evidence: list[Evidence] = field(default_factory=list)
    classes: int = 0
    frameworks: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class _Lookups:
    """The catalogue's iOS names as tables, built once per knowledge base."""

    frameworks: dict[str, str]  # casefolded binary name -> SDK id
    classes: dict[str, str]  # exact class name -> SDK id
    prefixes: dict[str, tuple[tuple[str, str], ...]]  # first 4 letters -> (prefix, SDK id), longest first
    bundles: dict[str, str]  # casefolded resource bundle -> SDK id

    def class_sdk(self, name: str) -> str | None:
        """The SDK a class belongs to: by its exact name, else by the longest catalogue prefix.
        Every prefix has at least four letters, so one dict probe on a name's first four finds the
        few prefixes to test (a large app defines tens of thousands of classes)."""
        found = self.classes.get(name)
        if found is not None:
            return found
        for prefix, sdk_id in self.prefixes.get(name[:4], ()):
            if name.startswith(prefix):
                return sdk_id
        return None


_BUILT: dict[int, tuple[Knowledge, _Lookups]] = {}


def lookups(kb: Knowledge) -> _Lookups:
    cached = _BUILT.get(id(kb))
    if cached is not None and cached[0] is kb:
        return cached[1]
    frameworks: dict[str, str] = {}
    classes: dict[str, str] = {}
    prefixes: dict[str, list[tuple[str, str]]] = {}
    bundles: dict[str, str] = {}
    for sdk in kb.sdks.values():
        sig = sdk.ios
        if sig is None:
            continue
        frameworks.update({n.casefold(): sdk.id for n in sig.frameworks})
        classes.update(dict.fromkeys(sig.classes, sdk.id))
        for prefix in sig.class_prefixes:
            prefixes.setdefault(prefix[:4], []).append((prefix, sdk.id))
        bundles.update({n.casefold(): sdk.id for n in sig.bundles})
    heads = {head: tuple(sorted(found, key=lambda p: -len(p[0]))) for head, found in prefixes.items()}
    built = _Lookups(frameworks, classes, heads, bundles)
    _BUILT[id(kb)] = (kb, built)
    return built


def _binary_name(binary: IosBinary) -> str:
    return binary.name.removesuffix(".dylib").removesuffix(".a").casefold()


def binary_sdks(app: App, kb: Knowledge) -> dict[str, str]:
    """Binary path -> the catalogue SDK that ships it (frameworks and dylibs known by name)."""
    cached = app.cache.get(_CACHE_KEY)
    if isinstance(cached, dict):
        return cached
    frameworks = lookups(kb).frameworks
    out = {}
    if app.ios is not None:
        for binary in app.ios.binaries:
            sdk_id = frameworks.get(_binary_name(binary)) if binary.role != "main" else None
            if sdk_id is not None:
                out[binary.path] = sdk_id
    app.cache[_CACHE_KEY] = out
    return out


def detect(app: App, kb: Knowledge) -> list[Finding]:
    if app.ios is None:
        return []
    tables = lookups(kb)
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
    out = []
    for binary in app.ios.binaries:
        if binary.role not in ("framework", "dylib") or binary.path in by_binary or binary.name.startswith(platform):
            continue
        if _binary_name(binary) in libraries or _own(app.package, binary.bundle_id):
            continue
        hosts = binary_hosts(app, kb).get(binary.path, {})
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
