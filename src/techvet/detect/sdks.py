"""Embedded SDKs: defined classes under a catalogue prefix, on whole package segments, or a manifest
component the catalogue knows (the manifest must name the real class, so this holds when the code is
obfuscated).

The app's own namespace (its manifest package and the packages of its launcher activities) is not
an SDK when it is a strict sub-package of an SDK prefix: the Weibo SDK's demo app
``com.sina.weibo.sdk.demo`` is the app, and the SDK next to it is still found. Classes that are only
referenced, not defined, never count.
"""

from __future__ import annotations

from collections import Counter

from techvet.app.dex import java_name
from techvet.app.reader import App
from techvet.detect._common import classes_by_package, finding
from techvet.findings import Evidence, Finding
from techvet.knowledge import Knowledge, Rule, Sdk


def own_namespaces(app: App) -> list[str]:
    """Java packages that belong to the app itself."""
    if app.manifest is None:
        return []
    spaces = [app.manifest.package]
    for activity in app.manifest.launcher_activities:
        spaces.append(activity.rpartition(".")[0])
    return [s for s in dict.fromkeys(spaces) if s]


def _is_under(package: str, namespace: str) -> bool:
    return package == namespace or package.startswith(namespace + ".")


def detect(app: App, kb: Knowledge) -> list[Finding]:
    own = own_namespaces(app)
    counts: Counter[str] = Counter()
    example: dict[str, tuple[str, str]] = {}
    for slashed, members in sorted(classes_by_package(app).items()):
        package = slashed.replace("/", ".")
        owner = kb.package_owner(package)
        if owner is None or owner[0] != "sdk":
            continue
        sdk_id = owner[1]
        probe = max((p for p in kb.sdks[sdk_id].prefixes if _is_under(package, p)), key=len)
        if any(ns != probe and _is_under(ns, probe) and _is_under(package, ns) for ns in own):
            continue
        counts[sdk_id] += len(members)
        if sdk_id not in example:
            example[sdk_id] = (app.code.classes[members[0]][0].name, members[0])
    out = []
    rule = kb.rules["TV301"]
    out.extend(_by_components(app, kb, rule, found_by_code=set(counts)))
    for sdk_id, n in sorted(counts.items()):
        sdk = kb.sdks[sdk_id]
        dex_name, descriptor = example[sdk_id]
        ev = Evidence(
            dex_name,
            f"{n} {'class' if n == 1 else 'classes'} under {', '.join(sdk.prefixes)}",
            class_name=java_name(descriptor),
            sdk=sdk_id,
        )
        out.append(embeds(rule, sdk, (ev,), "certain" if n >= 10 else "firm", classes=n))
    replacing = kb.rules["TV303"]
    categories = set(replacing.match.get("sdk_categories", ()))
    for f in list(out):
        sdk = kb.sdks[str(f.subject)]
        if sdk.category in categories:
            out.append(
                finding(
                    replacing,
                    f.evidence,
                    subject=sdk.id,
                    title=f"Can replace its code at run time: embeds {sdk.name}",
                    confidence=f.confidence,
                    country=sdk.country,
                    party=sdk.vendor,
                )
            )
    lib_rule = kb.rules["TV302"]
    found = set(counts) | {str(f.subject) for f in out if f.rule == "TV301"}
    claimed: set[str] = set()  # library paths already reported under a catalogue SDK
    shipped: set[str] = set()  # catalogue SDKs with a TV302 finding
    for sdk in kb.sdks.values():
        libs = [lib for lib in app.native_libraries if lib.name in sdk.native_libs]
        if not libs:
            continue
        claimed.update(lib.path for lib in libs)  # an SDK found by its classes is not found again
        if sdk.id not in found:
            found.add(sdk.id)
            shipped.add(sdk.id)
            out.append(_native(lib_rule, sdk, [lib.path for lib in libs]))
    # Native libraries LibChecker knows, grouped by the SDK or engine they belong to.
    by_label: dict[str, list[str]] = {}
    facts: dict[str, dict[str, str]] = {}
    for lib in app.native_libraries:
        known = kb.native_libs.get(lib.name)
        if known and known.get("label") and lib.path not in claimed:
            by_label.setdefault(known["label"], []).append(lib.path)
            facts[known["label"]] = known
    for label, paths in sorted(by_label.items()):
        team = facts[label].get("team") or "unknown maker"
        same = _catalogue_sdk(label, team, kb)
        if same is not None:  # LibChecker's "Bugly" by Tencent is the catalogue's Tencent Bugly
            if same.id not in shipped:
                shipped.add(same.id)
                out.append(_native(lib_rule, same, paths))
            continue
        out.append(
            finding(
                lib_rule,
                tuple(Evidence(p, "native library") for p in sorted(set(paths))[:4]),
                subject=label,
                title=f"Ships {label} native code ({team})",
                confidence="firm",
                party=team,
                url=facts[label].get("url", ""),
                catalogue="LibChecker-Rules (Apache-2.0)",
            )
        )
    return out


def embeds(
    rule: Rule, sdk: Sdk, evidence: tuple[Evidence, ...], confidence: str, catalogue: str = "", **counts: object
) -> Finding:
    """TV301 for ``sdk``, found by its classes or by its manifest components (on iOS: its classes,
    frameworks or bundles, with ``catalogue`` the source of its iOS names)."""
    return finding(
        rule,
        evidence,
        subject=sdk.id,
        title=f"Embeds {sdk.name}",
        confidence=confidence,
        country=sdk.country,
        party=sdk.vendor,
        sdk_category=sdk.category,
        collects=list(sdk.collects),
        does=list(sdk.does),
        domains=list(sdk.domains),
        catalogue=catalogue or sdk.source,
        **counts,
    )


def _by_components(app: App, kb: Knowledge, rule: Rule, found_by_code: set[str]) -> list[Finding]:
    """TV301 for SDKs the manifest declares components of but whose classes were not found under
    their packages (renamed by an obfuscator, or loaded from elsewhere)."""
    if app.manifest is None:
        return []
    declared: dict[str, list[tuple[str, str]]] = {}
    for component in app.manifest.components:
        sdk_id = kb.sdk_by_component.get(component.name)
        owner = kb.package_owner(component.name.rpartition(".")[0])
        if owner is not None and owner[0] == "sdk" and owner[1] in found_by_code:
            continue  # the SDK whose package holds it is already reported by its code
        if sdk_id is not None and sdk_id not in found_by_code:
            declared.setdefault(sdk_id, []).append((component.kind, component.name))
    out = []
    for sdk_id, named in sorted(declared.items()):
        sdk = kb.sdks[sdk_id]
        evidence = tuple(
            Evidence("AndroidManifest.xml", f"<{kind}> of {sdk.name}", class_name=name, sdk=sdk_id)
            for kind, name in named[:4]
        )
        out.append(embeds(rule, sdk, evidence, "firm", classes=0, components=len(named)))
    return out


def _native(rule: Rule, sdk: Sdk, paths: list[str]) -> Finding:
    """TV302 under a catalogue SDK's id, so the SDK is one SDK whether seen by classes or libraries."""
    return finding(
        rule,
        tuple(Evidence(p, "native library", sdk=sdk.id) for p in sorted(set(paths))[:4]),
        subject=sdk.id,
        title=f"Ships {sdk.name} native code",
        confidence="firm",
        country=sdk.country,
        party=sdk.vendor,
    )


def _catalogue_sdk(label: str, team: str, kb: Knowledge) -> Sdk | None:
    """The catalogue SDK a LibChecker label names: the same name (with or without the vendor in
    front: "Bugly" is "Tencent Bugly") from the same vendor. LibChecker and the catalogue are kept
    by different people; without this link one SDK was listed twice, once without its country."""
    key = label.casefold()
    for sdk in kb.sdks.values():
        vendor = (sdk.vendor or "").casefold()
        if not vendor or vendor.split()[0] not in team.casefold():
            continue
        name = sdk.name.casefold()
        if key in (sdk.id.casefold(), name, name.removeprefix(vendor.split()[0] + " ")):
            return sdk
    return None
