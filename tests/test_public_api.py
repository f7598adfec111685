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


def test_the_functions_are_not_hidden_by_their_subpackages() -> None:
    """techvet.scan, traffic, screen and fleet are both functions and subpackage names: importing
    the subpackages (as the command line and the library do) must leave the functions in place."""
    import importlib

    for module in ("techvet.scan", "techvet.traffic", "techvet.screen.command", "techvet.fleet.register"):
        importlib.import_module(module)
    for name in ("scan", "traffic", "screen", "fleet"):
        function = getattr(techvet, name)
        assert callable(function) and function.__module__ == "techvet.api", name
    from techvet.scan import find_apps  # the module is still importable by name

    assert callable(find_apps)
