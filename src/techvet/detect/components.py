"""Third-party code nobody catalogued: reported as a component, never read as "no SDK".

A catalogue is always behind: on apps chosen by others, a third of the Chinese SDKs present were in
no catalogue, and an app with six ad SDKs showed an empty SDK table. So every defined class is
accounted for: the app's own, the platform's or an open-source library's (the catalogue's library
list), a catalogued SDK's, obfuscated (every package segment one or two characters, nothing to name),
or else third-party code nobody identified. The last kind is grouped under its top package and
reported (TV304) with its size, the hosts its code names and who owns them, and the capabilities its
code holds, so that "an unidentified component under net.example names hosts owned by a CN company
and reads identifiers" is a finding a policy can act on.

This runs after the other detectors: it attributes their host and capability findings to components.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from techvet.app.dex import java_name
from techvet.app.reader import App
from techvet.detect._code_refs import bare_hosts, references, refs_for_rule
from techvet.detect._common import classes_by_package, finding
from techvet.detect.endpoints import host_of
from techvet.findings import Evidence, Finding
from techvet.knowledge import Knowledge

# Second package segments that name no one (cn.com.foo, com.github.foo): the top package takes a third.
_GENERIC_WORDS = "com net org gov edu ac co android github gitee google example app apps sdk sdks lib libs mobile open"
_GENERIC_SECOND = frozenset(_GENERIC_WORDS.split())
_DOMAIN_ROOTS = frozenset(("com", "net", "org", "cn", "io", "me", "de", "co", "app", "dev", "info"))
_GENERATED = ("R", "BuildConfig", "Manifest")  # classes every Android library build generates
_MAX_HOSTS = 12


@dataclass(eq=False)  # identity: a component is one object per top package
class _Component:
    top: str
    packages: set[str] = field(default_factory=set)
    classes: int = 0
    example: str = ""
    dex: str = ""
    hosts: dict[str, bool] = field(default_factory=dict)  # host -> named in cleartext
    capabilities: set[str] = field(default_factory=set)


def top_package(package: str) -> str:
    """The package a component is reported under: its first two segments (three after a generic one)."""
    parts = package.split(".")
    depth = 3 if len(parts) >= 3 and parts[1] in _GENERIC_SECOND else 2
    return ".".join(parts[:depth])


def _renamed(package: str, members: list[str]) -> bool:
    """Code an obfuscator renamed, where nothing in a name says whose it is: every package segment
    one or two letters (``o``, ``a.b``), or every segment after a kept first one short and every
    class name one to three letters (``com.a.b.c``). A real SDK with short segments (``com.qq.e``)
    still has real class names, so it stays in sight."""
    parts = package.split(".")
    if all(len(part) <= 2 for part in parts):
        return True
    short_package = all(len(part) <= 2 for part in parts[1:])
    return short_package and all(len(m[1:-1].rpartition("/")[2].split("$")[0]) <= 3 for m in members)


def _required_depth(package: str) -> int:
    parts = package.split(".")
    return 3 if len(parts) >= 2 and parts[1] in _GENERIC_SECOND else 2


def _own_roots(app: App) -> tuple[str, ...]:
    """The app's own namespaces: its package widened to its top package (the maker's other code
    sits beside it: com.example.app and com.example.lib) and its launcher activities' packages as
    they are. A namespace shorter than a top package (``net``, ``cn.com``, ``com.google``) is
    ignored: an app cannot declare a top-level domain or a generic space its own and so hide the
    third-party code in it. (An app that names itself com.tencent.x does make com.tencent its own;
    its package is in the report for the reader to judge.)"""
    if app.manifest is None:
        return ()
    package = app.manifest.package
    own = [package, top_package(package)] if len(package.split(".")) >= _required_depth(package) else []
    for activity in app.manifest.launcher_activities:
        space = activity.rpartition(".")[0]
        if len(space.split(".")) >= _required_depth(space):
            own.append(space)
    return tuple(dict.fromkeys(own))


def _under(package: str, roots: tuple[str, ...]) -> bool:
    return any(package == r or package.startswith(r + ".") for r in roots)


def unidentified(app: App, kb: Knowledge) -> dict[str, _Component]:
    """Third-party packages no catalogue entry, library list or app namespace accounts for."""
    own = _own_roots(app)
    packer_classes = tuple(c for p in kb.packers for c in p.classes)  # a packer's stub is TV501's
    out: dict[str, _Component] = {}
    for slashed, members in classes_by_package(app).items():
        dotted = slashed.replace("/", ".")
        if not dotted or dotted in _DOMAIN_ROOTS or _under(dotted, own) or kb.package_owner(dotted):
            continue  # a class directly under com or net is a stub's (Legu's com.mixClass), no one's SDK
        if _renamed(dotted, members):
            continue
        kept = [
            m
            for m in members
            if m[1:-1].rpartition("/")[2].split("$")[0] not in _GENERATED and not m.startswith(packer_classes)
        ]
        if not kept:
            continue
        top = top_package(dotted)
        item = out.setdefault(top, _Component(top))
        item.packages.add(dotted)
        item.classes += len(kept)
        first = min(kept)
        if not item.example or first < item.example:
            item.example, item.dex = first, app.code.classes[first][0].name
    return out


def _holder_top(class_name: str, tops: dict[str, _Component]) -> _Component | None:
    package = java_name(class_name).rpartition(".")[0] if class_name.startswith("L") else class_name.rpartition(".")[0]
    probe = package
    while probe:
        if probe in tops:
            return tops[probe]
        probe = probe.rpartition(".")[0]
    return None


def _credit_components(
    f: Finding, holders: set[_Component | None], refs: list[Any], tops: dict[str, _Component], kb: Knowledge
) -> None:
    """Say which unidentified component holds a capability's code, as the finding says which SDK:
    "reads the IMEI (net.adpulse, unidentified)" rather than "(app code)". The app's own code keeps
    the capability only where a holder is neither a component's, an SDK's nor a library's."""
    named = sorted(f"{item.top} (unidentified)" for item in holders if item is not None)
    if not named:
        return
    f.extra["in_sdks"] = [*f.extra.get("in_sdks", []), *named]
    if f.extra.get("in_app_code") and all(e.file != "AndroidManifest.xml" for e in f.evidence):
        f.extra["in_app_code"] = any(
            _holder_top(ref.class_name, tops) is None
            and kb.package_owner(java_name(ref.class_name).rpartition(".")[0]) is None
            for ref in refs
        )


def detect(app: App, findings: list[Finding], kb: Knowledge) -> list[Finding]:
    if app.manifest is None:  # a bare DEX has no namespace of its own: all of it would read as third-party
        return []
    tops = unidentified(app, kb)
    if not tops:
        return []
    refs = references(app, kb)
    # the hosts the endpoints detector reported (XML namespaces and placeholders already left out)
    places = {str(f.subject): f.extra["destination"] for f in findings if isinstance(f.extra.get("destination"), dict)}
    for url, whole, _dex in app.code.urls:
        parsed = host_of(url)
        if parsed is None:
            continue
        for ref in refs.get(whole, ()):
            item = _holder_top(ref.class_name, tops)
            if item is not None and parsed[1] in places:
                item.hosts[parsed[1]] = item.hosts.get(parsed[1], False) or parsed[0] == "http"
    for host, _dex in bare_hosts(app, kb):
        for ref in refs.get(host, ()):
            item = _holder_top(ref.class_name, tops)
            if item is not None and host in places:
                item.hosts.setdefault(host, False)
    for f in findings:
        capability = f.extra.get("capability")
        rule = kb.rules.get(f.rule)
        if not capability or rule is None:
            continue
        found = refs_for_rule(rule, refs, app)
        holders = {_holder_top(ref.class_name, tops) for ref in found}
        for item in holders - {None}:
            assert item is not None
            item.capabilities.add(str(capability))
        _credit_components(f, holders, found, tops, kb)

    rule = kb.rules["TV304"]
    out = []
    for top, item in sorted(tops.items()):
        every = sorted(item.hosts, key=lambda h: (not item.hosts[h], h))
        hosts = every[:_MAX_HOSTS]  # shown; the policy sees every host's owner
        destinations = [places[h] for h in every if h in places]
        owners = sorted({f"{d['owner']} ({d.get('owner_country') or '?'})" for d in destinations if d.get("owner")})
        title = f"Carries unidentified third-party code under {top} ({item.classes} classes)"
        if owners:
            title += f" that names hosts of {', '.join(owners[:3])}"
        evidence = [
            Evidence(item.dex, f"defines {item.classes} classes under {top}", class_name=java_name(item.example))
        ]
        evidence += [
            Evidence(item.dex, f"names host {h}" + (" over http://" if item.hosts[h] else "")) for h in hosts[:3]
        ]
        facts: dict[str, Any] = {
            "component": top,
            "packages": sorted(item.packages)[:8],
            "classes": item.classes,
            "hosts": hosts,
            "cleartext_hosts": [h for h in every if item.hosts[h]][:_MAX_HOSTS],
            "hosts_total": len(every),
            "capabilities": sorted(item.capabilities),
            "destinations": destinations,
        }
        countries = {d.get("owner_country") for d in destinations if d.get("owner_country")}
        out.append(
            finding(
                rule,
                tuple(evidence),
                subject=top,
                title=title,
                confidence="firm",
                country=countries.pop() if len(countries) == 1 else None,
                **facts,
            )
        )
    return out
