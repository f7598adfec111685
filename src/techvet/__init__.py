"""techvet: decide, with evidence, whether a piece of foreign technology is safe to allow.

>>> import techvet
>>> result = techvet.scan("app.apk")                 # doctest: +SKIP
>>> result.verdict["verdict"], [f.title for f in result.findings]   # doctest: +SKIP
>>> techvet.traffic("capture.pcap").to_dict()        # doctest: +SKIP
>>> [row.to_dict() for row in techvet.screen(names=["DJI"])]   # doctest: +SKIP
>>> techvet.fleet("inventory.csv").to_dict()         # doctest: +SKIP

Each answer's ``to_dict()`` is what the command line prints with ``--format json`` (techvet.api).

Why the functions are wrappers that import on call: the command line imports this package on every
run, and a scan in a shell loop over thousands of apps should not pay for the capture, screening
and fleet code it never uses. ``scan``, ``traffic``, ``screen`` and ``fleet`` share their names with
subpackages; the package's module type below keeps the functions when a subpackage is imported.
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

if TYPE_CHECKING:
    import os
    from collections.abc import Iterable

    from techvet.fleet.policy import Policy
    from techvet.fleet.register import FleetReport
    from techvet.knowledge import Knowledge
    from techvet.scan import ScanResult, iter_scan
    from techvet.screen.batch import Screened
    from techvet.traffic.analysis import TrafficResult
    from techvet.verdict import AppPolicy


def scan(
    path: str | os.PathLike[str],
    policy: str | os.PathLike[str] | AppPolicy | None = None,
    knowledge: Knowledge | None = None,
) -> ScanResult:
    """Scan one app and judge it under ``policy`` (the default app policy when None)."""
    from techvet import api

    return api.scan(path, policy, knowledge)


def traffic(
    capture: str | os.PathLike[str],
    policy: str | os.PathLike[str] | AppPolicy | None = None,
    device: dict[str, str] | None = None,
) -> TrafficResult:
    """Read one capture and judge it under ``policy`` (the default app policy when None)."""
    from techvet import api

    return api.traffic(capture, policy, device)


def screen(
    file: str | os.PathLike[str] | None = None,
    *,
    names: Iterable[str] = (),
    country: str | None = None,
    threshold: float | None = None,
    include_people: bool = False,
) -> list[Screened]:
    """Screen a party file, or ``names``, against the restriction lists: one row each."""
    from techvet import api

    return api.screen(file, names=names, country=country, threshold=threshold, include_people=include_people)


def fleet(
    inventory: str | os.PathLike[str],
    *,
    policy: str | os.PathLike[str] | Policy | None = None,
    app_policy: str | os.PathLike[str] | AppPolicy | None = None,
    apps: str | os.PathLike[str] | None = None,
    columns: str | dict[str, str] | None = None,
) -> FleetReport:
    """Decide every device of an inventory under a fleet policy (the US federal rules when None)."""
    from techvet import api

    return api.fleet(inventory, policy=policy, app_policy=app_policy, apps=apps, columns=columns)


_FUNCTIONS = frozenset({"scan", "traffic", "screen", "fleet"})
_LAZY = {"ScanResult": "techvet.scan", "iter_scan": "techvet.scan"}


def __getattr__(name: str) -> Any:
    """ScanResult and iter_scan, imported on first use."""
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'techvet' has no attribute {name!r}")


class _Package(types.ModuleType):
    """techvet's module type: importing the ``techvet.scan`` module (or traffic, screen, fleet)
    makes Python set that name on the package; the function of the same name is kept instead
    (the module stays in ``sys.modules``, where ``from techvet.scan import ...`` finds it)."""

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
