"""The one shape every result takes: a :class:`Finding` with its :class:`Evidence`.

Readers produce facts, detectors turn facts into findings, reports render findings. A finding
always says where a person can check it (file inside the app, class, method, string) with standard
tools such as apktool or jadx.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from enum import IntEnum
from typing import Any


class Severity(IntEnum):
    """Ordered so that ``--fail-on medium`` means "medium or worse"."""

    INFO = 0
    LOW = 1
    MEDIUM = 2
    HIGH = 3
    CRITICAL = 4

    @classmethod
    def parse(cls, text: str) -> Severity:
        try:
            return cls[text.strip().upper()]
        except KeyError:
            names = ", ".join(s.name.lower() for s in cls)
            raise ValueError(f"unknown severity {text!r} (one of: {names})") from None

    def __str__(self) -> str:
        return self.name.lower()


@dataclass(frozen=True, slots=True)
class Evidence:
    """Where a finding comes from.

    ``file`` is the entry inside the app (``classes2.dex``, ``AndroidManifest.xml``,
    ``lib/arm64-v8a/libshell.so``), ``class_name`` and ``method`` point into code (Java names), and
    ``detail`` says what was seen there (the API called, the string, the attribute).
    """

    file: str
    detail: str
    class_name: str | None = None
    method: str | None = None
    sdk: str | None = None  # id of the SDK whose code holds this evidence; None: the app's own code


@dataclass(frozen=True, slots=True)
class Finding:
    """One thing techvet found, with a stable rule id and the evidence behind it."""

    rule: str
    title: str
    severity: Severity
    category: str
    confidence: str  # "certain", "firm" or "tentative"
    evidence: tuple[Evidence, ...] = ()
    subject: str | None = None  # what the finding is about: an SDK id, a capability, a host
    country: str | None = None
    party: str | None = None
    refs: tuple[str, ...] = ()
    extra: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_dict(cls, doc: dict[str, Any]) -> Finding:
        """A finding back from its JSON (``to_dict``): a saved result judged again under a policy.
        Raises KeyError, TypeError or ValueError for a document that is not one."""
        evidence = tuple(
            Evidence(
                str(e["file"]),
                str(e["detail"]),
                e.get("class_name"),
                e.get("method"),
                e.get("sdk"),
            )
            for e in doc.get("evidence", [])
        )
        return cls(
            rule=str(doc["rule"]),
            title=str(doc["title"]),
            severity=Severity.parse(str(doc["severity"])),
            category=str(doc.get("category", "")),
            confidence=str(doc.get("confidence", "firm")),
            evidence=evidence,
            subject=doc.get("subject"),
            country=doc.get("country"),
            party=doc.get("party"),
            refs=tuple(doc.get("refs", ())),
            extra=dict(doc.get("extra") or {}),
        )

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["severity"] = str(self.severity)
        data["evidence"] = [{k: v for k, v in asdict(e).items() if v is not None} for e in self.evidence]
        data["refs"] = list(self.refs)
        return data
