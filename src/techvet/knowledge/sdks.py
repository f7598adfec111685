"""The SDK catalogue as lookup tables: the hand-curated SDKs, Exodus's trackers and the catalogue built
from LibChecker, LibRadar and disclosure lists (tools/build_sdk_catalogue.py), in that order.

The order is precedence: a tracker or built entry whose package a curated SDK already has is that SDK
(the curated one carries more facts), except under a ``catch_all`` entry (a vendor's whole namespace,
Google Play services), where the more specific entry keeps its own id. Every shape is checked, so a
malformed or tampered file stops the load naming the file, never a scan that quietly sees less.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import Any, NamedTuple

from techvet.errors import KnowledgeError

_PACKAGE_NAME = re.compile(r"^[A-Za-z_$][\w$]*(\.[A-Za-z_$][\w$]*)*$")
# first segments of package names that are domains, never one library's: a library list naming one
# would silently take every component under it out of sight
_DOMAIN_ROOTS = frozenset(
    ("com", "net", "org", "cn", "io", "me", "de", "uk", "jp", "kr", "tw", "hk", "co", "app", "dev", "info")
)


@dataclass(frozen=True)
class Sdk:
    id: str
    name: str
    vendor: str | None
    country: str | None
    category: str
    prefixes: tuple[str, ...]
    domains: tuple[str, ...] = ()
    collects: tuple[str, ...] = ()
    does: tuple[str, ...] = ()
    native_libs: tuple[str, ...] = ()
    source: str = ""
    components: tuple[str, ...] = ()  # manifest component classes that name this SDK (LibChecker)
    ios: IosSignature | None = None  # how it shows in an iOS app (sdks.yaml's ios: section)


@dataclass(frozen=True)
class IosSignature:
    """How an SDK shows in an iOS app: the binaries it ships, its Objective-C classes (exact names,
    and prefixes long enough to be its vendor's alone) and the resource bundles it asks for."""

    frameworks: tuple[str, ...]
    classes: tuple[str, ...]
    class_prefixes: tuple[str, ...]
    bundles: tuple[str, ...]
    source: str


@dataclass(frozen=True)
class IosSdkIndex:
    """The catalogue's iOS names as tables (``Knowledge.ios_sdk_index``, built once)."""

    frameworks: dict[str, str]  # casefolded binary name -> SDK id
    classes: dict[str, str]  # exact class name -> SDK id
    prefixes: dict[str, tuple[tuple[str, str], ...]]  # first 4 letters -> (prefix, SDK id), longest first
    bundles: dict[str, str]  # casefolded resource bundle -> SDK id

    @classmethod
    def build(cls, sdks: dict[str, Sdk]) -> IosSdkIndex:
        frameworks: dict[str, str] = {}
        classes: dict[str, str] = {}
        prefixes: dict[str, list[tuple[str, str]]] = {}
        bundles: dict[str, str] = {}
        for sdk in sdks.values():
            sig = sdk.ios
            if sig is None:
                continue
            frameworks.update({n.casefold(): sdk.id for n in sig.frameworks})
            classes.update(dict.fromkeys(sig.classes, sdk.id))
            for prefix in sig.class_prefixes:
                prefixes.setdefault(prefix[:4], []).append((prefix, sdk.id))
            bundles.update({n.casefold(): sdk.id for n in sig.bundles})
        heads = {head: tuple(sorted(found, key=lambda p: -len(p[0]))) for head, found in prefixes.items()}
        return cls(frameworks, classes, heads, bundles)

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


class SdkTables(NamedTuple):
    sdks: dict[str, Sdk]
    by_prefix: dict[str, str]  # dotted package -> sdk id
    by_component: dict[str, str]  # manifest component class name -> sdk id
    libraries: dict[str, str]  # dotted package -> platform or open-source library's name


_REBUILD = "rebuild it with tools/build_sdk_catalogue.py"
_CATALOGUE_SHAPE = {  # what tools/build_sdk_catalogue.py always writes
    "sdks": (list, "a list of SDK entries"),
    "components": (dict, "a mapping of manifest component class -> SDK id"),
    "libraries": (dict, "a mapping of package -> library name"),
    "extensions": (dict, "a mapping of curated SDK id -> added prefixes"),
    "exodus_vendors": (dict, "a mapping of Exodus tracker id -> maker"),
}


def _check_shape(catalogue: dict[str, Any]) -> None:
    """Every part the build tool writes, of the kind it writes: an emptied or missing part would
    silently take SDKs or libraries out of every scan."""
    for key, (kind, what) in _CATALOGUE_SHAPE.items():
        if not isinstance(catalogue.get(key), kind):
            raise KnowledgeError(f"sdk_catalogue.json: '{key}' must be {what} ({_REBUILD})")
        if key in ("components", "libraries") and not catalogue[key]:
            raise KnowledgeError(f"sdk_catalogue.json: '{key}' is empty ({_REBUILD})")


def load_sdks(curated: dict[str, Any], exodus: dict[str, Any], catalogue: dict[str, Any]) -> SdkTables:
    """The three SDK knowledge files (already read) as one set of tables."""
    _check_shape(catalogue)
    sdks: dict[str, Sdk] = {}
    by_prefix: dict[str, str] = {}
    specific = _add_curated(curated, sdks, by_prefix)
    _add_ios(curated.get("ios") or {}, sdks)
    try:
        _add_exodus(exodus, catalogue.get("exodus_vendors", {}), specific, sdks, by_prefix)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise KnowledgeError(f"exodus_trackers.json: malformed entry ({exc})") from None
    try:  # after Exodus: the build tool merged its entries into the curated SDKs and Exodus's trackers
        components, libraries = _add_catalogue(catalogue, sdks, by_prefix)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise KnowledgeError(f"sdk_catalogue.json: malformed entry ({exc})") from None
    return SdkTables(sdks, by_prefix, components, libraries)


def _add_curated(doc: dict[str, Any], sdks: dict[str, Sdk], by_prefix: dict[str, str]) -> set[str]:
    """The hand-curated SDKs; returns their prefixes other sources' entries merge into."""
    specific: set[str] = set()
    for s in doc.get("sdks", []):
        try:
            sdk = Sdk(
                id=s["id"],
                name=s["name"],
                vendor=s.get("vendor"),
                country=s.get("country"),
                category=s.get("category", "other"),
                prefixes=tuple(s["prefixes"]),
                domains=tuple(s.get("domains", ())),
                collects=tuple(s.get("collects", ())),
                does=tuple(s.get("does", ())),
                native_libs=tuple(s.get("native_libs", ())),
                source=doc["source"],
            )
        except KeyError as exc:
            raise KnowledgeError(f"sdks.yaml: SDK {s.get('id', '?')} lacks {exc}") from None
        if sdk.id in sdks:
            raise KnowledgeError(f"sdks.yaml: SDK id {sdk.id} is defined twice")
        sdks[sdk.id] = sdk
        for prefix in sdk.prefixes:
            by_prefix.setdefault(prefix, sdk.id)
        if not s.get("catch_all"):
            specific.update(sdk.prefixes)
    return specific


def _add_ios(doc: object, sdks: dict[str, Sdk]) -> None:
    """The iOS section of sdks.yaml: one signature per catalogue SDK, each with its source."""
    if not isinstance(doc, dict):
        raise KnowledgeError("sdks.yaml: 'ios' must map SDK ids to their iOS signatures")
    for sdk_id, entry in doc.items():
        if sdk_id not in sdks:
            raise KnowledgeError(f"sdks.yaml: ios: {sdk_id} is not an SDK of the catalogue")
        if not isinstance(entry, dict) or not entry.get("source"):
            raise KnowledgeError(f"sdks.yaml: ios: {sdk_id} needs its names and a source")
        try:
            signature = IosSignature(
                frameworks=tuple(str(x) for x in entry.get("frameworks", ())),
                classes=tuple(str(x) for x in entry.get("classes", ())),
                class_prefixes=tuple(str(x) for x in entry.get("class_prefixes", ())),
                bundles=tuple(str(x) for x in entry.get("bundles", ())),
                source=str(entry["source"]),
            )
        except TypeError:
            raise KnowledgeError(f"sdks.yaml: ios: {sdk_id} lists must be lists of names") from None
        if any(len(p) < 4 for p in signature.class_prefixes):
            raise KnowledgeError(f"sdks.yaml: ios: {sdk_id}: a class prefix shorter than 4 letters names no one vendor")
        sdks[sdk_id] = replace(sdks[sdk_id], ios=signature)


def _inside(package: str, prefixes: set[str]) -> bool:
    """Whether ``package`` is one of ``prefixes`` or inside one (a walk up its segments)."""
    while package:
        if package in prefixes:
            return True
        package = package.rpartition(".")[0]
    return False


def _add_exodus(
    doc: dict[str, Any], makers: dict[str, Any], specific: set[str], sdks: dict[str, Sdk], by_prefix: dict[str, str]
) -> None:
    """Exodus's trackers, with the makers the catalogue researched; a tracker prefix inside a curated
    SDK's package is that SDK (more facts, same code)."""
    for t in doc.get("trackers", []):
        fresh = [p for p in t.get("prefixes", []) if not _inside(p, specific)]
        if not fresh:
            continue
        categories = t.get("categories") or ["other"]
        maker = dict(makers.get(t["id"], {}))
        sdks[t["id"]] = Sdk(
            id=t["id"],
            name=t["name"],
            vendor=maker.get("vendor"),
            country=maker.get("country"),
            category=str(categories[0]).lower(),
            prefixes=tuple(fresh),
            source="Exodus Privacy (ODbL)",
        )
        for prefix in fresh:
            by_prefix.setdefault(prefix, t["id"])


def _package(name: Any, what: str, min_segments: int) -> str:
    if not isinstance(name, str) or not _PACKAGE_NAME.match(name) or name.count(".") + 1 < min_segments:
        raise ValueError(f"{what} {name!r} is not a package name of at least {min_segments} segments")
    if name in _DOMAIN_ROOTS:
        raise ValueError(f"{what} {name!r} is a whole domain, not one library's package")
    return name


def _add_catalogue(
    doc: dict[str, Any], sdks: dict[str, Sdk], by_prefix: dict[str, str]
) -> tuple[dict[str, str], dict[str, str]]:
    """The built catalogue (tools/build_sdk_catalogue.py) after the hand-curated SDKs and Exodus: its
    entries, the packages other sources add to a curated SDK (Amap's legacy ``com.loc``), and the
    manifest components and library packages it returns. Every shape is checked: a malformed or
    tampered file stops the load with the file named, never a scan that quietly sees less."""
    for sdk_id, extra in dict(doc.get("extensions", {})).items():
        base = sdks.get(sdk_id)
        if base is None:
            raise ValueError(f"extension for unknown SDK {sdk_id!r}")
        added = [_package(p, "extension prefix", 2) for p in extra["prefixes"]]
        sdks[sdk_id] = replace(base, prefixes=tuple(dict.fromkeys((*base.prefixes, *added))))
        for prefix in added:
            by_prefix.setdefault(prefix, sdk_id)
    for e in doc.get("sdks", []):
        if e["id"] in sdks:
            raise ValueError(f"SDK id {e['id']} is defined twice")
        sdks[e["id"]] = Sdk(
            id=e["id"],
            name=str(e["name"]),
            vendor=e.get("vendor"),
            country=e.get("country"),
            category=e.get("category") or "other",
            prefixes=tuple(_package(p, "SDK prefix", 2) for p in e["prefixes"]),
            source=str(e["source"]),
            components=tuple(str(c) for c in e.get("components", ())),
        )
        for prefix in sdks[e["id"]].prefixes:
            by_prefix.setdefault(prefix, e["id"])
    components = dict(doc.get("components", {}))
    unknown = sorted({i for i in components.values() if i not in sdks})
    if unknown:
        raise ValueError(f"components name unknown SDKs: {', '.join(map(str, unknown[:3]))}")
    libraries = {_package(p, "library package", 1): str(n) for p, n in dict(doc.get("libraries", {})).items()}
    return components, libraries


__all__ = ["Sdk", "SdkTables", "load_sdks"]
