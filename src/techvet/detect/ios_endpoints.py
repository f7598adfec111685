"""iOS only: hosts named in the strings of an app's binaries, through the attribution Android's use
(TV401 for http:// URLs, TV402 for other hosts).

An http:// URL stays a cleartext endpoint whatever App Transport Security says: ATS binds the URL
loading system, not sockets, WebSocket libraries or a web view's content, so a URL that ATS would
block for one API may still travel in cleartext through another. The finding says whether ATS
permits cleartext to that host, so a reader sees both facts.
"""

from __future__ import annotations

import re
from dataclasses import replace

from techvet.app.reader import App
from techvet.detect._ios_common import binary_sdks
from techvet.detect.endpoints import excluded, host_findings, host_of
from techvet.detect.ios_settings import ats_settings
from techvet.findings import Evidence, Finding
from techvet.knowledge import Knowledge

_URL = re.compile(r"(?:https?|wss?|ftp)://[^\x00-\x20\"'<>\\,;|()\[\]{}^`]+", re.IGNORECASE)
_BARE = re.compile(r"^(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,6}$")
_MAX_EVIDENCE_PER_HOST = 4
_CACHE_KEY = "ios_hosts"


def _strings_hosts(app: App, kb: Knowledge) -> dict[tuple[str, str], list[Evidence]]:
    """(kind, host) -> evidence, for every binary's strings; cached per app."""
    cached = app.cache.get(_CACHE_KEY)
    if isinstance(cached, dict):
        return cached
    assert app.ios is not None
    owners = binary_sdks(app, kb)
    tlds = frozenset(kb.endpoints.get("bare_host_tlds", ()))
    not_first = frozenset(kb.endpoints.get("bare_host_not_first", ()))
    own = (app.package or "").casefold()
    hosts: dict[tuple[str, str], list[Evidence]] = {}
    by_path = kb.endpoints.get("namespace_paths", {})
    left_out: dict[str, bool] = {}  # per host, where the path does not matter (most hosts)

    def excluded_url(host: str, path: str) -> bool:
        if host in by_path:
            return excluded(host, path, kb)
        if host not in left_out:
            left_out[host] = excluded(host, "", kb)
        return left_out[host]

    for binary in app.ios.binaries:
        sdk = owners.get(binary.path)
        for text in binary.strings:
            if "://" in text:
                for url in _URL.findall(text):
                    parsed = host_of(url)
                    if parsed is None or excluded_url(parsed[1], parsed[2]):
                        continue
                    kind = "cleartext" if parsed[0] in ("http", "ws") else "named"
                    bucket = hosts.setdefault((kind, parsed[1]), [])
                    if len(bucket) < _MAX_EVIDENCE_PER_HOST:
                        bucket.append(Evidence(binary.path, f"string {url[:200]}", sdk=sdk))
            elif "." in text and len(text) < 254 and _BARE.match(text):  # lower case, as Android's:
                host = text  # "contentInset.top" is a key path, not a host
                labels = host.split(".")
                if labels[-1] in tlds and labels[0] not in not_first and host != own and not excluded_url(host, ""):
                    bucket = hosts.setdefault(("named", host), [])
                    if len(bucket) < _MAX_EVIDENCE_PER_HOST:
                        bucket.append(Evidence(binary.path, f"string {host}", sdk=sdk))
    app.cache[_CACHE_KEY] = hosts
    return hosts


def binary_hosts(app: App, kb: Knowledge) -> dict[str, dict[str, bool]]:
    """Binary path -> {host: whether it is named over http://}."""
    out: dict[str, dict[str, bool]] = {}
    for (kind, host), evidence in _strings_hosts(app, kb).items():
        for ev in evidence:
            seen = out.setdefault(ev.file, {})
            seen[host] = seen.get(host, False) or kind == "cleartext"
    return out


def detect(app: App, kb: Knowledge) -> list[Finding]:
    if app.ios is None:
        return []
    out = host_findings(_strings_hosts(app, kb), kb)
    ats = ats_settings(app.ios)
    for i, f in enumerate(out):
        if f.extra.get("cleartext"):
            permits = ats.permits(str(f.subject))
            title = f.title + ("" if permits else " (App Transport Security blocks it for the URL loading system)")
            out[i] = replace(f, title=title, extra={**f.extra, "ats_permits": permits})
    return out
