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


def test_the_answers_are_callable_and_every_import_form_works() -> None:
    """techvet.scan, traffic, screen and fleet are their modules, made callable (techvet.entry):
    calling one answers as techvet.api does, and the usual import forms still give modules."""
    import importlib

    for module in ("techvet.scan", "techvet.traffic", "techvet.screen.command", "techvet.fleet.register"):
        importlib.import_module(module)
    for name in ("scan", "traffic", "screen", "fleet"):
        entry = getattr(techvet, name)
        assert callable(entry) and entry.__name__ == f"techvet.{name}", name
    import techvet.screen.names as names  # a submodule under a callable package
    import techvet.traffic as traffic_module
    from techvet.scan import find_apps

    assert callable(names.tokens) and callable(traffic_module.analyze) and callable(find_apps)
    from tests.conftest import fixture_app

    assert techvet.scan(fixture_app("clean_app.apk")).verdict["verdict"] == "pass"
