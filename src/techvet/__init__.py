"""techvet: decide, with evidence, whether a piece of foreign technology is safe to allow.

>>> import techvet
>>> result = techvet.scan("app.apk")                 # doctest: +SKIP
>>> result.verdict["verdict"], [f.title for f in result.findings]   # doctest: +SKIP
>>> techvet.traffic("capture.pcap").to_dict()        # doctest: +SKIP
>>> [row.to_dict() for row in techvet.screen(names=["DJI"])]   # doctest: +SKIP
>>> techvet.fleet("inventory.csv").to_dict()         # doctest: +SKIP

Each answer's ``to_dict()`` is what the command line prints with ``--format json`` (techvet.api).

``scan``, ``traffic``, ``screen`` and ``fleet`` are the modules of those names, made callable
(techvet.entry), and load on first use: the command line imports this package on every run, and a
scan in a shell loop over thousands of apps should not pay for the capture, screening and fleet
code it never uses. Typed code can call the same functions from techvet.api.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

from techvet.errors import (  # noqa: E402 - the version must exist before submodules import it
    InputError,
    KnowledgeError,
    LimitExceededError,
    MalformedAppError,
    NotAnAppError,
    NothingToAnalyseError,
    TechvetError,
    UsageError,
)
from techvet.findings import Evidence, Finding, Severity  # noqa: E402

if TYPE_CHECKING:
    from techvet.scan import ScanResult, iter_scan

_SUBMODULES = frozenset({"scan", "traffic", "screen", "fleet"})  # callable: techvet.scan(...) (techvet.entry)
_FROM_SCAN = frozenset({"ScanResult", "iter_scan"})


def __getattr__(name: str) -> Any:
    """scan, traffic, screen and fleet (callable modules) and ScanResult, iter_scan, on first use."""
    import importlib

    if name in _SUBMODULES:
        return importlib.import_module(f"techvet.{name}")
    if name in _FROM_SCAN:
        return getattr(importlib.import_module("techvet.scan"), name)
    raise AttributeError(f"module 'techvet' has no attribute {name!r}")


__all__ = [
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
