"""The dataset's tables: their columns (the documented schema, docs/dataset.md) and the rows one
app's result becomes.

Rows are made from the app's JSON document (``ScanResult.to_dict``, docs/json-schema.json), the
same document the JSON report and the service keep, so a dataset row says what the JSON report
says. Every table is joined to ``apps`` by ``sha256`` and carries the techvet version, the
knowledge identity and the list snapshot its row was made under: a dataset built over months by
several workers says, row by row, what each answer was made with.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

STAMP = (("techvet_version", "string"), ("knowledge", "string"), ("lists", "string"))
COLUMNS: dict[str, tuple[tuple[str, str], ...]] = {
    "apps": (
        ("sha256", "string"),
        ("source", "string"),
        ("status", "string"),  # ok | incomplete | unreadable
        ("error", "string"),
        ("incomplete", "list<string>"),
        ("size", "int64"),
        ("package", "string"),
        ("version_name", "string"),
        ("version_code", "int64"),
        ("label", "string"),
        ("min_sdk", "int64"),
        ("target_sdk", "int64"),
        ("signer_sha256", "string"),
        ("signer_subject", "string"),
        ("maker_lists", "list<string>"),
        ("ban_orders", "list<string>"),
        ("max_severity", "string"),
        ("findings", "int64"),
        ("seconds", "float64"),
        ("scanned_at", "timestamp"),
    ),
    "sdks": (
        ("sha256", "string"),
        ("sdk", "string"),
        ("title", "string"),
        ("vendor", "string"),
        ("vendor_country", "string"),
        ("category", "string"),
        ("classes", "int64"),
        ("vendor_lists", "list<string>"),
        ("replaces_code", "bool"),
    ),
    "capabilities": (
        ("sha256", "string"),
        ("capability", "string"),
        ("rule", "string"),
        ("severity", "string"),
        ("title", "string"),
        ("in_app_code", "bool"),
        ("in_sdks", "list<string>"),
    ),
    "destinations": (
        ("sha256", "string"),
        ("host", "string"),
        ("cleartext", "bool"),
        ("registrable_domain", "string"),
        ("owner", "string"),
        ("parent", "string"),
        ("owner_country", "string"),
        ("registry_country", "string"),
        ("server_country", "string"),
        ("asn", "int64"),
        ("network", "string"),
        ("network_owner", "string"),
        ("network_owner_country", "string"),
        ("named_by_sdks", "list<string>"),
        ("owner_lists", "list<string>"),
        ("network_lists", "list<string>"),
    ),
    "findings": (
        ("sha256", "string"),
        ("rule", "string"),
        ("severity", "string"),
        ("category", "string"),
        ("confidence", "string"),
        ("title", "string"),
        ("subject", "string"),
        ("country", "string"),
        ("party", "string"),
        ("list", "string"),
        ("evidence", "int64"),
        ("evidence_file", "string"),
        ("evidence_class", "string"),
        ("evidence_detail", "string"),
    ),
    "verdicts": (
        ("sha256", "string"),
        ("policy", "string"),
        ("verdict", "string"),
        ("score", "int64"),
        ("decided_by", "list<string>"),
        ("why", "list<string>"),
        ("accepted", "int64"),
    ),
}
TABLES = tuple(COLUMNS)
RUN_COLUMNS = frozenset({"seconds", "scanned_at"})  # what differs between two runs of the same apps
SEVERITIES = ("info", "low", "medium", "high", "critical")


def columns(table: str) -> tuple[tuple[str, str], ...]:
    """The columns of ``table``, its own and then the stamp every table carries."""
    return COLUMNS[table] + STAMP


def arrow_schema(table: str) -> Any:
    """The pyarrow schema of ``table`` (pyarrow is imported only when a dataset is written or read)."""
    import pyarrow as pa

    kinds = {
        "string": pa.string(),
        "int64": pa.int64(),
        "float64": pa.float64(),
        "bool": pa.bool_(),
        "timestamp": pa.timestamp("ms", tz="UTC"),
        "list<string>": pa.list_(pa.string()),
    }
    return pa.schema([(name, kinds[kind]) for name, kind in columns(table)])


def _lists_of(findings: Iterable[dict[str, Any]], rule: str, key: str | None = None) -> dict[str, list[str]]:
    """For the findings of ``rule``: what each names (its subject, or each of its ``extra[key]``)
    -> the lists it is on, sorted."""
    out: dict[str, set[str]] = {}
    for f in findings:
        if f.get("rule") != rule:
            continue
        extra = f.get("extra") or {}
        names = extra.get(key) or [] if key else [f.get("subject")]
        for name in names:
            if name and extra.get("list"):
                out.setdefault(str(name), set()).add(str(extra["list"]))
    return {k: sorted(v) for k, v in out.items()}


def _text(value: Any) -> str | None:
    return None if value is None else _utf8(str(value))


def _utf8(text: str) -> str:
    """``text`` as Parquet can hold it: a lone surrogate (a file name's undecodable byte, a DEX
    string's unpaired half) becomes U+FFFD instead of failing the whole part."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
    return text


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def rows_of(doc: dict[str, Any], sha256: str, source: str, stamp: dict[str, str]) -> dict[str, list[dict[str, Any]]]:
    """The rows of every table for one app's JSON document (``ok`` false: only its ``apps`` row,
    with the reason)."""
    app = doc.get("app") or {}
    findings = [f for f in doc.get("findings") or [] if isinstance(f, dict)]
    errors = [str(e) for e in doc.get("errors") or []]
    certificate = next((c for c in doc.get("certificates") or [] if isinstance(c, dict)), {})
    worst = max((SEVERITIES.index(f["severity"]) for f in findings if f.get("severity") in SEVERITIES), default=None)
    ok = bool(doc.get("ok")) and bool(app)
    apps_row = {
        "sha256": sha256,
        "source": _utf8(source),
        "status": ("incomplete" if errors else "ok") if ok else "unreadable",
        "error": None if ok else _utf8(errors[0] if errors else "unreadable"),
        "incomplete": errors if ok else [],
        "size": _int(app.get("size")),
        "package": _text(app.get("package")),
        "version_name": _text(app.get("version_name")),
        "version_code": _int(app.get("version_code")),
        "label": _text(app.get("label")),
        "min_sdk": _int(app.get("min_sdk")),
        "target_sdk": _int(app.get("target_sdk")),
        "signer_sha256": _text(certificate.get("sha256")),
        "signer_subject": _text(certificate.get("subject")),
        "maker_lists": sorted({lst for lists in _lists_of(findings, "TV601").values() for lst in lists}),
        "ban_orders": sorted({lst for lists in _lists_of(findings, "TV603").values() for lst in lists}),
        "max_severity": None if worst is None else SEVERITIES[worst],
        "findings": len(findings),
        "seconds": doc.get("seconds"),
        "scanned_at": stamp["scanned_at"],
    }
    tables: dict[str, list[dict[str, Any]]] = {name: [] for name in TABLES}
    tables["apps"].append(apps_row)
    if ok:
        _app_tables(doc, findings, tables)
    for name, rows in tables.items():
        for row in rows:
            for key, value in row.items():  # lists of names (SDKs, lists, reasons): the same care
                if isinstance(value, list):
                    row[key] = [_utf8(v) if isinstance(v, str) else v for v in value]
            row["sha256"] = sha256
            row.update(stamp)
            if name != "apps":
                row.pop("scanned_at", None)
    return tables


def _app_tables(doc: dict[str, Any], findings: list[dict[str, Any]], tables: dict[str, list[dict[str, Any]]]) -> None:
    vendor_lists = _lists_of(findings, "TV602")
    replacing = {f.get("subject") for f in findings if f.get("rule") == "TV303"}
    embeds = {f.get("subject"): f for f in findings if f.get("rule") == "TV301"}
    for sdk in doc.get("sdks") or []:
        f = embeds.get(sdk) or {}
        extra = f.get("extra") or {}
        tables["sdks"].append(
            {
                "sdk": str(sdk),
                "title": _text(f.get("title")),
                "vendor": _text(f.get("party")),
                "vendor_country": _text(f.get("country")),
                "category": _text(extra.get("sdk_category")),
                "classes": _int(extra.get("classes")),
                "vendor_lists": vendor_lists.get(str(f.get("party")), []),
                "replaces_code": sdk in replacing,
            }
        )
    by_capability = {(f.get("extra") or {}).get("capability"): f for f in findings if f.get("category") == "capability"}
    for capability in doc.get("capabilities") or []:
        f = by_capability.get(capability) or {}
        extra = f.get("extra") or {}
        tables["capabilities"].append(
            {
                "capability": str(capability),
                "rule": _text(f.get("rule")),
                "severity": _text(f.get("severity")),
                "title": _text(f.get("title")),
                "in_app_code": extra.get("in_app_code") if isinstance(extra.get("in_app_code"), bool) else None,
                "in_sdks": [str(s) for s in extra.get("in_sdks") or []],
            }
        )
    owner_lists, network_lists = _lists_of(findings, "TV605", "hosts"), _lists_of(findings, "TV606", "hosts")
    for d in doc.get("destinations") or []:
        host = str(d.get("host"))
        tables["destinations"].append(
            {
                "host": host,
                "cleartext": bool(d.get("cleartext")),
                **{k: _text(d.get(k)) for k in ("registrable_domain", "owner", "parent", "owner_country")},
                **{k: _text(d.get(k)) for k in ("registry_country", "server_country")},
                "asn": _int(d.get("asn")),
                **{k: _text(d.get(k)) for k in ("network", "network_owner", "network_owner_country")},
                "named_by_sdks": [str(s) for s in d.get("named_by_sdks") or []],
                "owner_lists": owner_lists.get(host, []),
                "network_lists": network_lists.get(host, []),
            }
        )
    for f in findings:
        evidence = [e for e in f.get("evidence") or [] if isinstance(e, dict)]
        first = evidence[0] if evidence else {}
        tables["findings"].append(
            {
                **{k: _text(f.get(k)) for k in ("rule", "severity", "category", "confidence", "title", "subject")},
                "country": _text(f.get("country")),
                "party": _text(f.get("party")),
                "list": _text((f.get("extra") or {}).get("list")),
                "evidence": len(evidence),
                "evidence_file": _text(first.get("file")),
                "evidence_class": _text(first.get("class_name")),
                "evidence_detail": _text(first.get("detail")),
            }
        )
    verdict = doc.get("verdict") or {}
    if verdict:
        decided = [d for d in verdict.get("decided_by") or [] if isinstance(d, dict)]
        tables["verdicts"].append(
            {
                "policy": _text(verdict.get("policy")),
                "verdict": _text(verdict.get("verdict")),
                "score": _int(verdict.get("score")),
                "decided_by": [str(d.get("line")) for d in decided],
                "why": [str(d.get("why")) for d in decided],
                "accepted": len(verdict.get("accepted") or []),
            }
        )
