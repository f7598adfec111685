"""The public surface is deliberate: a change to it is a change to this test."""

from __future__ import annotations

import techvet


def test_exported_members() -> None:
    assert sorted(techvet.__all__) == sorted(
        [
            "Evidence",
            "Finding",
            "InputError",
            "KnowledgeError",
            "LimitExceededError",
            "MalformedAppError",
            "NotAnAppError",
            "NothingToAnalyseError",
            "ScanResult",
            "Severity",
            "TechvetError",
            "UsageError",
            "__version__",
            "fleet",
            "iter_scan",
            "scan",
            "screen",
            "traffic",
        ]
    )
    for name in techvet.__all__:
        assert hasattr(techvet, name)


def test_error_tree() -> None:
    for cls in (techvet.NotAnAppError, techvet.MalformedAppError, techvet.LimitExceededError):
        assert issubclass(cls, techvet.InputError)
    assert issubclass(techvet.InputError, techvet.TechvetError)
    assert issubclass(techvet.KnowledgeError, techvet.TechvetError)
