"""techvet: decide, with evidence, whether a piece of foreign technology is safe to allow.

>>> import techvet
>>> result = techvet.scan("app.apk")                 # doctest: +SKIP
>>> result.verdict["verdict"], [f.title for f in result.findings]   # doctest: +SKIP
>>> techvet.traffic("capture.pcap").to_dict()        # doctest: +SKIP
>>> [row.to_dict() for row in techvet.screen(names=["DJI"])]   # doctest: +SKIP
>>> techvet.fleet("inventory.csv").to_dict()         # doctest: +SKIP

Each answer's ``to_dict()`` is what the command line prints with ``--format json`` (techvet.api).

Why the functions load on first use: the command line imports this package on every run, and a
scan in a shell loop over thousands of apps should not pay for the capture, screening and fleet
code it never uses. ``scan``, ``traffic``, ``screen`` and ``fleet`` share their names with
subpackages; the package's module type below keeps a subpackage from hiding the function.
"""

from __future__ import annotations

import sys
import types
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

if TYPE_CHECKING:  # what the names below are, for type checkers; at run time they load on first use
    from techvet.api import fleet, scan, screen, traffic
    from techvet.scan import ScanResult, iter_scan

_LAZY = {
    "scan": "techvet.api",
    "traffic": "techvet.api",
    "screen": "techvet.api",
    "fleet": "techvet.api",
    "ScanResult": "techvet.scan",
    "iter_scan": "techvet.scan",
}
_FUNCTIONS = frozenset({"scan", "traffic", "screen", "fleet"})


def __getattr__(name: str) -> Any:
    """The public functions (techvet.api) and ScanResult, iter_scan, imported on first use."""
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'techvet' has no attribute {name!r}")


class _Package(types.ModuleType):
    """techvet's module type: importing the ``techvet.scan`` module (or traffic, screen, fleet)
    makes Python set that name on the package, which would hide the function of the same name; the
    name is left unset instead, so ``techvet.scan`` stays the function (the module stays in
    ``sys.modules``, where ``from techvet.scan import ...`` finds it)."""

    def __setattr__(self, name: str, value: Any) -> None:
        if name in _FUNCTIONS and isinstance(value, types.ModuleType):
            return
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package

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
