"""Scan apps: read, run every detector, collect findings into a :class:`ScanResult`.

``scan(path)`` is the library entry point (usable from a notebook); ``iter_scan`` walks a folder
and yields one result per app, recording an unreadable file as an error result and going on.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from techvet import __version__
from techvet.app.reader import App
from techvet.detect import DETECTORS, PLATFORM, components, iocs, parties
from techvet.entry import make_callable
from techvet.errors import InputError
from techvet.findings import Finding, Severity
from techvet.ios.reader import is_ios_app
from techvet.knowledge import Knowledge, load
from techvet.place import PLACE_KEYS
from techvet.reading import APP_SUFFIXES, read_any

if TYPE_CHECKING:
    from techvet.iocs import IndicatorIndex
    from techvet.ios.reader import IosApp
    from techvet.verdict import AppPolicy


@dataclass
class ScanResult:
    """One app's scan: identity, facts worth showing, findings, and any detector errors."""

    path: str
    app: App | None
    findings: list[Finding] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)  # detector errors or the read error
    seconds: float = 0.0
    traffic: dict[str, Any] | None = None  # with --traffic: what the captures confirm (techvet.traffic.correlate)
    verdict: dict[str, Any] | None = None  # the policy's verdict (techvet.verdict), when one was asked for

    @property
    def ok(self) -> bool:
        return self.app is not None

    @property
    def package(self) -> str | None:
        return self.app.package if self.app else None

    @property
    def title(self) -> str:
        """What reports call the app: its label, else its package, else its file."""
        app = self.app
        label = app.label if app else None
        return label or (app.package if app else None) or self.path

    @property
    def max_severity(self) -> Severity | None:
        return max((f.severity for f in self.findings), default=None)

    def judge(self, policy: AppPolicy | None = None) -> dict[str, Any]:
        """The verdict under ``policy`` (the default app policy when None), kept on the result and
        returned: the same verdict whichever command asks (scan, fleet, the Python API)."""
        from techvet.verdict import AppPolicy

        app = self.app
        package = app.package if app else None
        certificates = [c.sha256 for c in app.certificates] if app else []
        bare_dex = app is not None and app.manifest is None and app.ios is None
        chosen = policy or AppPolicy.load()
        self.verdict = verdict_of(self.findings, package, certificates, self.errors, bare_dex, chosen)
        return self.verdict

    def by_rule(self, rule: str) -> list[Finding]:
        return [f for f in self.findings if f.rule == rule]

    @property
    def sdks(self) -> list[str]:
        return [f.subject for f in self.findings if f.rule == "TV301" and f.subject]

    @property
    def capabilities(self) -> list[str]:
        return sorted({str(f.extra["capability"]) for f in self.findings if "capability" in f.extra})

    def destinations(self) -> list[dict[str, Any]]:
        """One row per host the code names: who owns it, where, cleartext or not, who names it.

        Attribution is offline (knowledge files with their dates); no name is resolved.
        """
        rows = []
        for f in self.findings:
            if "destination" not in f.extra:
                continue
            place = dict(f.extra["destination"])
            first = f.evidence[0] if f.evidence else None
            rows.append(
                {
                    "host": f.subject,
                    "cleartext": bool(f.extra.get("cleartext")),
                    **{k: place.get(k) for k in PLACE_KEYS},
                    "named_by_sdks": sorted({e.sdk for e in f.evidence if e.sdk}),
                    "first_evidence": None
                    if first is None
                    else {
                        k: v
                        for k, v in (
                            ("file", first.file),
                            ("class_name", first.class_name),
                            ("method", first.method),
                            ("detail", first.detail),
                        )
                        if v is not None
                    },
                }
            )
        return sorted(rows, key=lambda r: (not r["cleartext"], r["host"]))

    def to_dict(self) -> dict[str, Any]:
        """The documented JSON shape (docs/json-schema.json)."""
        app = self.app
        out: dict[str, Any] = {
            "techvet_version": __version__,
            "path": self.path,
            "ok": self.ok,
            "seconds": round(self.seconds, 4),
            "errors": list(self.errors),
        }
        if app is None:
            return out
        m = app.manifest
        out["app"] = {
            "platform": app.platform,
            "sha256": app.sha256,
            "size": app.size,
            "package": app.package,
            "version_name": app.version_name,
            "version_code": m.version_code if m else None,
            "label": app.label,
            "min_sdk": m.min_sdk if m else None,
            "target_sdk": m.target_sdk if m else None,
            "splits": app.splits,
            "notes": app.notes,
        }
        out["manifest"] = (
            None
            if m is None
            else {
                "permissions": list(m.permissions),
                "application_class": m.application_class,
                "debuggable": m.debuggable,
                "allow_backup": m.allow_backup,
                "uses_cleartext_traffic": m.uses_cleartext_traffic,
                "network_security_config": m.network_security_config,
                "network_security_config_xml": app.network_security_config,
                "components": [
                    {
                        "kind": c.kind,
                        "name": c.name,
                        "exported": c.exported,
                        "permission": c.permission,
                        "intent_filters": [
                            {"actions": list(f.actions), "categories": list(f.categories), "data": list(f.data)}
                            for f in c.intent_filters
                        ],
                    }
                    for c in m.components
                ],
            }
        )
        out["certificates"] = [
            {
                "subject": c.subject,
                "issuer": c.issuer,
                "sha256": c.sha256,
                "not_before": c.not_before,
                "not_after": c.not_after,
                "schemes": list(c.schemes),
            }
            for c in app.certificates
        ]
        out["code"] = {
            "dex": [{"name": d.name, "size": d.size, "classes": d.class_defs_size} for d in app.code.dexes],
            "native_libraries": [{"name": lib.name, "abi": lib.abi, "path": lib.path} for lib in app.native_libraries],
            "assets": len(app.assets),
        }
        if app.ios is not None:
            out["ios"] = ios_facts(app.ios)
        out["destinations"] = self.destinations()
        out["attribution"] = _attribution_note()
        out["sdks"] = self.sdks
        out["unidentified_components"] = [
            {
                k: f.extra.get(k)
                for k in ("component", "packages", "classes", "hosts", "cleartext_hosts", "capabilities")
            }
            for f in self.by_rule("TV304")
        ]
        out["capabilities"] = self.capabilities
        if self.verdict is not None:
            out["verdict"] = self.verdict
        out["findings"] = [f.to_dict() for f in self.findings]
        if self.traffic is not None:
            out["traffic"] = self.traffic
        return out


NOT_EXAMINED = "not examined: "
"""How an error about code the app names but that could not be read begins (reports label it so)."""

BARE_DEX = "a bare DEX: no manifest (permissions, components) and no signature to examine"


def verdict_of(
    findings: list[Finding],
    package: str | None,
    certificates: list[str],
    errors: list[str],
    bare_dex: bool,
    policy: AppPolicy,
) -> dict[str, Any]:
    """An app's verdict under ``policy``, counting what its scan could not examine (a detector that
    failed, a bare DEX's missing manifest and signature, code a packer hides) as incomplete, so
    never a pass. One
    function for a fresh scan (:meth:`ScanResult.judge`) and a saved result judged again
    (``techvet diff``): a saved result must not lose what made its verdict at least warn."""
    from techvet.verdict import decide

    unexamined = [*errors, BARE_DEX] if bare_dex else list(errors)
    encrypted = [f for f in findings if f.rule == "TV508"]
    if encrypted:  # FairPlay: the binary's code, names and strings were not readable
        binaries = ", ".join(str(b) for b in encrypted[0].extra.get("binaries", ())[:4]) or "a binary"
        unexamined.append(
            f"encrypted by FairPlay ({binaries}): its code was not examined, so SDKs, capabilities and hosts cover "
            "only what stays readable"
        )
    packed = [f for f in findings if f.rule == "TV501"]
    if packed:  # what a packer hides is not in any finding: say so rather than judge the shell alone
        by = packed[0].title.removeprefix("Packed or protected with ") if packed[0].party else "a stub loader"
        unexamined.append(
            f"packed by {by}: the packed code was not examined, so SDKs, capabilities and hosts cover only what "
            "the package shows"
        )
    return decide(findings, package, certificates, policy, incomplete=unexamined).to_dict()


def ios_facts(ios: IosApp) -> dict[str, Any]:
    """The iOS part of a result (docs/json-schema.json, ``ios``): identity, profile, entitlements,
    App Transport Security and each binary, without the long lists (classes, strings)."""
    profile = ios.profile
    ats = ios.info.get("NSAppTransportSecurity")
    usage = {k: str(v)[:300] for k, v in ios.info.items() if k.endswith("UsageDescription") and isinstance(v, str)}
    queried = ios.info.get("LSApplicationQueriesSchemes")
    return {
        "bundle_id": ios.bundle_id,
        "build": ios.build,
        "min_os": ios.min_os,
        "sdk": ios.sdk,
        "usage_descriptions": usage,
        "app_transport_security": _plain(ats) if isinstance(ats, dict) else None,
        "url_schemes_queried": [x for x in queried if isinstance(x, str)][:200] if isinstance(queried, list) else [],
        "profile": None
        if profile is None
        else {
            "name": profile.name,
            "team_id": profile.team_id,
            "team_name": profile.team_name,
            "app_id_name": profile.app_id_name,
            "created": profile.created,
            "expires": profile.expires,
            "provisions_all_devices": profile.provisions_all_devices,
            "devices": profile.devices,
        },
        "entitlements": sorted(ios.entitlements),
        "bundles": ios.bundles,
        "binaries": [
            {
                "path": b.path,
                "role": b.role,
                "name": b.name,
                "archs": b.archs,
                "encrypted": b.encrypted,
                "min_os": b.min_os,
                "libraries": b.libraries,
                "classes": len(b.classes),
                "swift_types": len(b.swift_types),
                "strings": len(b.strings),
            }
            for b in ios.binaries
        ],
    }


def _plain(value: Any) -> Any:
    """A property list's value as JSON can hold it: data as its length, dates already text."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, bytes):
        return f"<{len(value)} bytes of data>"
    return value


def _attribution_note() -> dict[str, Any]:
    """How destinations were attributed: offline, from these knowledge files as of these dates."""
    kb = load()
    # every source named, whatever this process looked up before (an address or not), so the note
    # is the same for the same app
    _ = (kb.psl, kb.place, kb.networks)
    from techvet.place.attribution import register_iptocc

    register_iptocc(kb)
    names = (
        "owners.json",
        "owner_companies.yaml",
        "place_rules.yaml",
        "psl.json",
        "sdks.yaml",
        "iptocc",
        "ip_asn.json",
        "asn_owners.yaml",
    )
    return {"offline": True, "knowledge": {n: kb.sources[n][1] for n in names if n in kb.sources}}


def scan_app(app: App, knowledge: Knowledge | None = None, indicators: IndicatorIndex | None = None) -> ScanResult:
    """Run every registered detector on an already read app; ``indicators``: the known surveillance
    tools' index to compare it with (None: the index in use, techvet.iocs.installed_index)."""
    kb = knowledge or load()
    result = ScanResult(app.path, app)
    if app.ios is not None:  # code the bundle names but that could not be read: never a pass
        result.errors.extend(f"{NOT_EXAMINED}{what}" for what in app.ios.unread)
    for name, detector in DETECTORS.items():
        if PLATFORM.get(name, app.platform) != app.platform:
            continue
        try:
            result.findings.extend(detector(app, kb))
        except InputError as exc:  # damage found only when a detector looked deeper
            result.errors.append(f"detector {name}: {exc}")
        except Exception as exc:  # noqa: BLE001 - one broken detector must not lose the scan
            result.errors.append(f"detector {name} failed: {type(exc).__name__}: {exc}")
    try:  # third-party code no catalogue names, with the hosts and capabilities found in it
        result.findings.extend(components.detect(app, result.findings, kb))
    except Exception as exc:  # noqa: BLE001 - as for every detector
        result.errors.append(f"detector components failed: {type(exc).__name__}: {exc}")
    try:  # screens what the detectors found (SDK vendors, destination owners): runs after them
        result.findings.extend(parties.detect(app, result.findings, kb))
    except Exception as exc:  # noqa: BLE001 - as for every detector
        result.errors.append(f"detector parties failed: {type(exc).__name__}: {exc}")
    try:  # known surveillance tools: the app's identity and files, and the hosts found above
        from techvet.iocs.installed import installed_index  # the index is read on first use

        result.findings.extend(iocs.app_findings(app, result.findings, indicators or installed_index(), kb))
    except Exception as exc:  # noqa: BLE001 - as for every detector
        result.errors.append(f"detector iocs failed: {type(exc).__name__}: {exc}")
    result.findings.sort(key=lambda f: (-f.severity, f.rule, f.subject or ""))
    return result


def scan(
    path: str | os.PathLike[str], knowledge: Knowledge | None = None, indicators: IndicatorIndex | None = None
) -> ScanResult:
    """Read and scan one app file. Raises :class:`techvet.errors.InputError` for bad input."""
    started = time.perf_counter()
    app = read_any(path)
    result = scan_app(app, knowledge, indicators)
    result.seconds = time.perf_counter() - started
    return result


def find_apps(directory: str | os.PathLike[str]) -> list[str]:
    """App files below ``directory`` (recursive, sorted), by suffix."""
    from techvet.many.sources import walk

    return list(walk(os.fspath(directory), APP_SUFFIXES))


def scan_as(
    local: str, source: str, knowledge: Knowledge | None = None, indicators: IndicatorIndex | None = None
) -> ScanResult:
    """Scan ``local``, the local copy of ``source`` (a fetched URL, or the same path): the result
    and its messages name the source, never the temporary copy. An unreadable app is a result
    that is not ok."""
    (result,) = iter_scan([local], knowledge, indicators)
    if local != source:
        result.path, result.errors = source, [str(e).replace(local, source) for e in result.errors]
    return result


def iter_scan(
    paths: list[str], knowledge: Knowledge | None = None, indicators: IndicatorIndex | None = None
) -> Iterator[ScanResult]:
    """Scan each path (folders expanded); an unreadable app yields a result with ``ok`` False."""
    kb = knowledge or load()
    for path in paths:
        targets = find_apps(path) if os.path.isdir(path) and not is_ios_app(path) else [path]
        for target in targets:
            started = time.perf_counter()
            try:
                result = scan(target, kb, indicators)
            except InputError as exc:
                result = ScanResult(target, None, errors=[str(exc)])
            except MemoryError:
                result = ScanResult(target, None, errors=[f"{target}: out of memory while reading"])
            result.seconds = time.perf_counter() - started
            yield result


make_callable(__name__)  # techvet.scan(...) answers as techvet.api.scan does (techvet.entry)
