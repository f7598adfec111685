"""Manifest facts from the parsed AndroidManifest.xml tree: identity, permissions, components."""

from __future__ import annotations

from dataclasses import dataclass, field

from techvet.app.axml import Element

COMPONENT_TAGS = ("activity", "activity-alias", "service", "receiver", "provider")


@dataclass(frozen=True, slots=True)
class IntentFilter:
    actions: tuple[str, ...]
    categories: tuple[str, ...]
    data: tuple[str, ...]  # scheme://host/path forms and mime types, as declared


@dataclass(frozen=True, slots=True)
class Component:
    """An activity, service, receiver or provider, with the facts that decide who may reach it."""

    kind: str
    name: str
    exported: bool | None  # None: not declared (then it depends on intent filters and the SDK level)
    permission: str | None
    intent_filters: tuple[IntentFilter, ...]

    @property
    def effectively_exported(self) -> bool:
        """Whether another app can start it: declared, or implied by an intent filter."""
        if self.exported is not None:
            return self.exported
        return bool(self.intent_filters)

    @property
    def is_launcher(self) -> bool:
        return any(
            "android.intent.action.MAIN" in f.actions and "android.intent.category.LAUNCHER" in f.categories
            for f in self.intent_filters
        )


@dataclass(frozen=True, slots=True)
class Manifest:
    """What AndroidManifest.xml declares; ``None`` means the attribute is absent (no default applied)."""

    package: str
    version_code: int | None
    version_name: str | None
    label: str | None
    min_sdk: int | None
    target_sdk: int | None
    permissions: tuple[str, ...]
    application_class: str | None
    debuggable: bool
    allow_backup: bool | None
    uses_cleartext_traffic: bool | None
    network_security_config: str | None  # resource reference or resolved file path
    components: tuple[Component, ...]
    meta_data: dict[str, str] = field(default_factory=dict)

    @property
    def launcher_activities(self) -> list[str]:
        return [c.name for c in self.components if c.is_launcher]


def _text(value: object) -> str | None:
    if value is None:
        return None
    return str(value)


def _int(value: object) -> int | None:
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        try:
            return int(value, 0)
        except ValueError:
            return None
    return None


def _bool(value: object) -> bool | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return value != 0
    return str(value).strip().lower() == "true"


def _class_name(package: str, name: str) -> str:
    """Expand ``.Foo`` and ``Foo`` the way the package manager does."""
    if name.startswith("."):
        return package + name
    if "." not in name and package:
        return f"{package}.{name}"
    return name


def _intent_filter(el: Element) -> IntentFilter:
    actions = tuple(str(a.attrs.get("name", "")) for a in el.children if a.tag == "action")
    categories = tuple(str(c.attrs.get("name", "")) for c in el.children if c.tag == "category")
    data = []
    for d in el.children:
        if d.tag != "data":
            continue
        if "mimeType" in d.attrs:
            data.append(str(d.attrs["mimeType"]))
        scheme, host = d.attrs.get("scheme"), d.attrs.get("host")
        if scheme or host:
            path = d.attrs.get("path") or d.attrs.get("pathPrefix") or d.attrs.get("pathPattern") or ""
            data.append(f"{scheme or '*'}://{host or '*'}{path}")
    return IntentFilter(actions, categories, tuple(data))


def read_manifest(root: Element, resolve: object = None) -> Manifest:
    """Turn the manifest tree into :class:`Manifest` facts.

    ``resolve`` is an optional callable ``(str) -> str | None`` that turns ``@0x7f..`` references
    into their default value (the label text, the network security config path).
    """
    package = str(root.attrs.get("package", ""))
    app = root.find("application")
    app_attrs = app.attrs if app is not None else {}

    def deref(value: object) -> str | None:
        text = _text(value)
        if text and text.startswith("@0x") and callable(resolve):
            return resolve(text) or text
        return text

    uses_sdk = root.find("uses-sdk")
    sdk_attrs = uses_sdk.attrs if uses_sdk is not None else {}
    permissions = tuple(
        dict.fromkeys(
            str(p.attrs.get("name", ""))
            for p in root.children
            if p.tag in ("uses-permission", "uses-permission-sdk-23", "uses-permission-sdk-m") and p.attrs.get("name")
        )
    )
    components = []
    meta: dict[str, str] = {}
    if app is not None:
        for child in app.children:
            if child.tag in COMPONENT_TAGS:
                name = _class_name(package, str(child.attrs.get("name", child.attrs.get("targetActivity", ""))))
                exported = child.attrs.get("exported")
                components.append(
                    Component(
                        kind=child.tag,
                        name=name,
                        exported=_bool(exported) if exported is not None else None,
                        permission=_text(child.attrs.get("permission")),
                        intent_filters=tuple(_intent_filter(f) for f in child.children if f.tag == "intent-filter"),
                    )
                )
            elif child.tag == "meta-data" and child.attrs.get("name"):
                meta[str(child.attrs["name"])] = str(child.attrs.get("value", child.attrs.get("resource", "")))
    app_class = app_attrs.get("name")
    return Manifest(
        package=package,
        version_code=_int(root.attrs.get("versionCode")),
        version_name=deref(root.attrs.get("versionName")),
        label=deref(app_attrs.get("label")),
        min_sdk=_int(sdk_attrs.get("minSdkVersion")),
        target_sdk=_int(sdk_attrs.get("targetSdkVersion")),
        permissions=permissions,
        application_class=_class_name(package, str(app_class)) if app_class else None,
        debuggable=bool(_bool(app_attrs.get("debuggable"))),
        allow_backup=_bool(app_attrs.get("allowBackup")),
        uses_cleartext_traffic=_bool(app_attrs.get("usesCleartextTraffic")),
        network_security_config=deref(app_attrs.get("networkSecurityConfig")),
        components=tuple(components),
        meta_data=meta,
    )
