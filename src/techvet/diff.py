"""What changed between two versions of an app: ``techvet diff OLD NEW``.

Each side is an app (scanned now) or a saved ``techvet scan --format json`` result. The answer is
the question an analyst asks of an update: which SDKs came or went (with vendor and country), which
capabilities were gained or lost, which destinations are new (with owner and owner country),
which permissions changed, whether a packer appeared, which findings are new or gone, and how the
verdict moved.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from techvet.errors import InputError, refuse_if_larger
from techvet.place import PLACE_KEYS
from techvet.report.cells import network_cell, owner_cell

MAX_RESULT_BYTES = 256 << 20  # a saved result is JSON text; an app is a zip or a DEX


def load_side(path: str, policy: str | None = None) -> dict[str, Any]:
    """A scan result as JSON: read from a saved result (``techvet scan --format json``: one JSON
    object, or JSON Lines holding one app's result), or made by scanning the app now. Which it is
    is told by the content, not the name: ``results.jsonl`` is a result, ``app.json.apk`` an app."""
    p = Path(path)
    if not p.is_file():
        raise InputError(f"{path}: no such file")
    with p.open("rb") as handle:
        head = handle.read(64).lstrip()
    if head[:1] == b"{":
        return _judged_again(_saved_result(p), policy)
    from techvet.bulk import render_one

    rendered = render_one(path, "json", False, None, policy)
    if not rendered.ok:
        raise InputError(rendered.output)
    result: dict[str, Any] = json.loads(rendered.output)
    return result


def _judged_again(doc: dict[str, Any], policy: str | None) -> dict[str, Any]:
    """A saved result's verdict made again under the policy of this run, as the other side's is: a
    verdict saved under another policy would compare two policies, not two versions (and could let
    ``--fail-on`` pass an update that fails the policy asked for)."""
    from techvet.bulk import cached_policy
    from techvet.findings import Finding
    from techvet.scan import verdict_of

    try:  # every part of a saved file is read as untrusted: a part of the wrong shape is one error line
        findings = [Finding.from_dict(f) for f in doc["findings"]]
        package = (doc.get("app") or {}).get("package")
        certificates = [str(c["sha256"]) for c in doc.get("certificates") or []]
        errors = [str(e) for e in doc.get("errors") or []]  # an incomplete scan stays incomplete
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise InputError(f"{doc.get('path')}: a saved result that cannot be read back ({exc!r})") from None
    bare_dex = doc.get("manifest") is None
    doc["verdict"] = verdict_of(findings, package, certificates, errors, bare_dex, cached_policy(policy))
    return doc


def _saved_result(path: Path) -> dict[str, Any]:
    refuse_if_larger(path, MAX_RESULT_BYTES)
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise InputError(f"{path}: not a techvet JSON result (not UTF-8 text)") from None
    docs: list[Any] = []
    try:
        docs = [json.loads(text)]
    except ValueError:
        try:  # JSON Lines: one result per line
            docs = [json.loads(line) for line in text.splitlines() if line.strip()]
        except (ValueError, RecursionError) as exc:
            raise InputError(f"{path}: not a techvet JSON result ({exc})") from None
    except RecursionError:
        raise InputError(f"{path}: not a techvet JSON result (nested too deeply)") from None
    results = [d for d in docs if isinstance(d, dict) and "path" in d and "ok" in d]
    if len(results) != len(docs) or not results:
        raise InputError(f"{path}: not a techvet JSON result")
    if len(results) > 1:
        raise InputError(f"{path}: holds {len(results)} results; diff compares one app with one app")
    doc = results[0]
    if not doc.get("ok") or "findings" not in doc:
        raise InputError(f"{path}: a result of a scan that failed ({'; '.join(map(str, doc.get('errors', [])))})")
    return doc


def diff(old: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
    def sdk_info(doc: dict[str, Any]) -> dict[str, dict[str, Any]]:
        """SDK id -> what is known of it: TV301 (found by its classes) first, as it says most;
        a native library (TV302) or a code-replacing SDK (TV303) of the same id is the same SDK."""
        out: dict[str, dict[str, Any]] = {}
        ranked = sorted(doc["findings"], key=lambda f: f["rule"] != "TV301")
        for f in ranked:
            if f["rule"] in ("TV301", "TV302", "TV303") and f.get("subject"):
                out.setdefault(
                    f["subject"],
                    {"id": f["subject"], "title": f["title"], "vendor": f.get("party"), "country": f.get("country")},
                )
        for sdk in doc.get("sdks", []):
            out.setdefault(sdk, {"id": sdk, "title": sdk, "vendor": None, "country": None})
        return out

    def hosts(doc: dict[str, Any]) -> dict[str, dict[str, Any]]:
        return {
            d["host"]: {k: d.get(k) for k in ("host", *PLACE_KEYS, "cleartext")} for d in doc.get("destinations", [])
        }

    def finding_keys(doc: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
        return {(f["rule"], f.get("subject") or ""): f for f in doc["findings"]}

    old_sdks, new_sdks = sdk_info(old), sdk_info(new)
    old_hosts, new_hosts = hosts(old), hosts(new)
    old_perms = set((old.get("manifest") or {}).get("permissions", []))
    new_perms = set((new.get("manifest") or {}).get("permissions", []))
    old_packers = {f.get("subject") for f in old["findings"] if f["rule"] == "TV501"}
    new_packers = {f.get("subject") for f in new["findings"] if f["rule"] == "TV501"}
    old_f, new_f = finding_keys(old), finding_keys(new)
    return {
        "old": _identity(old),
        "new": _identity(new),
        "sdks_added": [new_sdks[k] for k in sorted(set(new_sdks) - set(old_sdks))],
        "sdks_removed": [old_sdks[k] for k in sorted(set(old_sdks) - set(new_sdks))],
        "capabilities_gained": sorted(set(new.get("capabilities", [])) - set(old.get("capabilities", []))),
        "capabilities_lost": sorted(set(old.get("capabilities", [])) - set(new.get("capabilities", []))),
        "destinations_added": [new_hosts[h] for h in sorted(set(new_hosts) - set(old_hosts))],
        "destinations_removed": [old_hosts[h] for h in sorted(set(old_hosts) - set(new_hosts))],
        "new_owners": sorted(
            {str(d["owner"]) for d in new_hosts.values() if d["owner"]}
            - {str(d["owner"]) for d in old_hosts.values() if d["owner"]}
        ),
        "permissions_added": sorted(new_perms - old_perms),
        "permissions_removed": sorted(old_perms - new_perms),
        "packers_added": sorted(p for p in new_packers - old_packers if p),
        "packers_removed": sorted(p for p in old_packers - new_packers if p),
        "findings_added": [_short(new_f[k]) for k in sorted(set(new_f) - set(old_f))],
        "findings_removed": [_short(old_f[k]) for k in sorted(set(old_f) - set(new_f))],
        "verdict": {"old": _verdict(old), "new": _verdict(new)},
    }


def _identity(doc: dict[str, Any]) -> dict[str, Any]:
    app = doc.get("app") or {}
    return {
        "path": doc.get("path"),
        "package": app.get("package"),
        "version": app.get("version_name"),
        "sha256": app.get("sha256"),
    }


def _verdict(doc: dict[str, Any]) -> dict[str, Any] | None:
    v = doc.get("verdict")
    return None if v is None else {"verdict": v["verdict"], "score": v["score"]}


def _short(f: dict[str, Any]) -> dict[str, Any]:
    return {
        "rule": f["rule"],
        "subject": f.get("subject"),
        "title": f["title"],
        "severity": f["severity"],
        "evidence": f.get("evidence", [])[:8],
    }


def render_text(d: dict[str, Any], verbose: bool = False) -> str:
    lines = [f"{d['old']['package']} {d['old']['version']} -> {d['new']['package']} {d['new']['version']}"]
    if d["old"]["package"] != d["new"]["package"]:
        lines.append("note: two different apps (their packages differ): this compares two apps, not two versions")
    v = d["verdict"]
    if v["old"] and v["new"]:
        lines.append(
            f"verdict: {v['old']['verdict']} ({v['old']['score']}) -> {v['new']['verdict']} ({v['new']['score']})"
        )
    for label, key in (("SDKs added", "sdks_added"), ("SDKs removed", "sdks_removed")):
        for s in d[key]:
            known = [str(x) for x in (s["vendor"], s["country"]) if x]  # never print an unknown as None
            lines.append(f"{label}: {s['id']}{' (' + ', '.join(known) + ')' if known else ''}")
    for label, key in (
        ("capabilities gained", "capabilities_gained"),
        ("capabilities lost", "capabilities_lost"),
        ("permissions added", "permissions_added"),
        ("permissions removed", "permissions_removed"),
        ("packers added", "packers_added"),
        ("packers removed", "packers_removed"),
        ("new owners", "new_owners"),
    ):
        if d[key]:
            lines.append(f"{label}: {', '.join(d[key])}")
    for h in d["destinations_added"]:
        clear = ", cleartext" if h["cleartext"] else ""
        network = f"; network {network_cell(h)}" if network_cell(h) != "-" else ""
        lines.append(f"new destination: {h['host']} (owner {owner_cell(h)}{network}{clear})")
    for h in d["destinations_removed"]:
        lines.append(f"destination gone: {h['host']}")
    for f in d["findings_added"]:
        lines.append(f"new finding: {f['severity']} {f['rule']} {f['title']}")
        if verbose:
            lines += [f"    {_where(e)}: {e.get('detail', '')}" for e in f.get("evidence", [])]
    for f in d["findings_removed"]:
        lines.append(f"finding gone: {f['rule']} {f['title']}")
    verdict_moved = bool(v["old"] and v["new"] and v["old"] != v["new"])
    if not any(d[k] for k in _CHANGES) and not verdict_moved:
        same = d["old"]["sha256"] and d["old"]["sha256"] == d["new"]["sha256"]
        lines.append(
            "no changes: the same file"
            if same
            else "no changes: the same SDKs, capabilities, destinations, permissions, packers and findings"
        )
    return "\n".join(lines) + "\n"


_CHANGES = (
    "sdks_added",
    "sdks_removed",
    "capabilities_gained",
    "capabilities_lost",
    "destinations_added",
    "destinations_removed",
    "permissions_added",
    "permissions_removed",
    "packers_added",
    "packers_removed",
    "findings_added",
    "findings_removed",
)


def _where(evidence: dict[str, Any]) -> str:
    where = str(evidence.get("file", ""))
    if evidence.get("class_name"):
        where += f" {evidence['class_name']}" + (f".{evidence['method']}" if evidence.get("method") else "")
    return where


__all__ = ["diff", "load_side", "render_text"]
