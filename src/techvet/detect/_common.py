"""Helpers shared by detectors: turning code references into evidence."""

from __future__ import annotations

from techvet.app.code import Reference
from techvet.app.dex import java_name
from techvet.app.reader import App
from techvet.findings import Evidence, Finding
from techvet.knowledge import Knowledge, Rule

MAX_EVIDENCE = 8


def classes_by_package(app: App) -> dict[str, list[str]]:
    """The app's defined classes grouped by their slash-separated package ("" for the default one),
    once per app: the SDK and component detectors decide per package, and a few hundred packages
    stand for thousands of classes."""
    cached = app.cache.get("classes_by_package")
    if isinstance(cached, dict):
        return cached
    grouped: dict[str, list[str]] = {}
    for descriptor in app.code.classes:
        grouped.setdefault(descriptor[1:-1].rpartition("/")[0], []).append(descriptor)
    app.cache["classes_by_package"] = grouped
    return grouped


def evidence_from(refs: list[Reference], knowledge: Knowledge, verb: str) -> tuple[Evidence, ...]:
    """Evidence for code references, one per (class, method, what), the app's own code first."""
    seen = set()
    out = []
    for ref in refs:
        key = (ref.class_name, ref.method, ref.what)
        if key in seen:
            continue
        seen.add(key)
        out.append(evidence_at(ref, f"{verb} {ref.what.removeprefix('*->')}", knowledge))
    out.sort(key=lambda e: (e.sdk is not None, e.class_name or "", e.method or ""))
    return tuple(out[:MAX_EVIDENCE])


def evidence_at(ref: Reference, detail: str, knowledge: Knowledge) -> Evidence:
    """Evidence that points at the code site of ``ref``, naming the SDK whose code it is."""
    return Evidence(
        ref.dex,
        detail,
        class_name=java_name(ref.class_name),
        method=ref.method,
        sdk=knowledge.sdk_for_class(ref.class_name),
    )


def finding(
    rule: Rule,
    evidence: tuple[Evidence, ...],
    subject: str | None = None,
    confidence: str = "certain",
    title: str | None = None,
    country: str | None = None,
    party: str | None = None,
    **extra: object,
) -> Finding:
    """A finding for ``rule`` with the rule's own title, severity and references.

    ``country`` and ``party`` name who is behind what was found (an SDK's or packer's maker), for
    policies and screening; they are data, never an input to whether a rule fires.
    """
    return Finding(
        rule=rule.id,
        title=title or rule.title,
        severity=rule.severity,
        category=rule.category,
        confidence=confidence,
        evidence=evidence,
        subject=subject,
        country=country,
        party=party,
        refs=rule.refs,
        extra=dict(extra),
    )
