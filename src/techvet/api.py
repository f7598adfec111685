"""The Python API: the same answers as the command line, as objects whose ``to_dict()`` (or, for a
screening, each row's) is exactly what the command prints as JSON.

    techvet.scan("app.apk")                 ScanResult, with the verdict under the default app policy
    techvet.traffic("capture.pcap")         TrafficResult, with its verdict
    techvet.screen("suppliers.csv")         list of Screened rows (or names=["DJI", "华为"])
    techvet.fleet("inventory.csv")          FleetReport: policy, every device's decision, summary

A policy is a path, a loaded policy, or None for the bundled default. Bad input raises the same
typed errors the command turns into one line (``techvet.TechvetError`` and its subclasses), and
input that holds nothing to judge raises ``NothingToAnalyseError``: it is never a pass.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from typing import TYPE_CHECKING

from techvet.errors import InputError, NothingToAnalyseError, UsageError
from techvet.verdict import AppPolicy

if TYPE_CHECKING:
    from techvet.fleet.policy import Policy
    from techvet.fleet.register import FleetReport
    from techvet.iocs import IndicatorIndex
    from techvet.knowledge import Knowledge
    from techvet.scan import ScanResult
    from techvet.screen.batch import Screened
    from techvet.traffic.analysis import TrafficResult


def _app_policy(policy: str | os.PathLike[str] | AppPolicy | None) -> AppPolicy:
    return policy if isinstance(policy, AppPolicy) else AppPolicy.load(None if policy is None else str(policy))


def scan(
    path: str | os.PathLike[str],
    policy: str | os.PathLike[str] | AppPolicy | None = None,
    knowledge: Knowledge | None = None,
    indicators: IndicatorIndex | None = None,
) -> ScanResult:
    """Read and scan one app, and judge it under ``policy`` (the default app policy when None);
    ``indicators``: known surveillance tools' index (None: the one in use).
    Raises :class:`~techvet.errors.InputError` (or a subclass) for a file that is not a readable app."""
    from techvet.scan import scan as scan_file

    if os.path.isdir(path):
        raise InputError(f"{path}: a folder: scan reads one app (techvet.iter_scan or the command line read folders)")
    result = scan_file(path, knowledge, indicators)
    result.judge(_app_policy(policy))
    return result


def traffic(
    capture: str | os.PathLike[str],
    policy: str | os.PathLike[str] | AppPolicy | None = None,
    device: dict[str, str] | None = None,
    indicators: IndicatorIndex | None = None,
) -> TrafficResult:
    """Read one capture (pcap, pcapng, HAR, mitmproxy dump) and judge it under the app policy.
    ``device``: the test device's own identifiers (kind -> value), to find them hashed;
    ``indicators``: known surveillance tools' index (None: the one in use; techvet.iocs.with_bundles
    adds STIX bundles)."""
    from techvet.traffic.analysis import analyze
    from techvet.verdict import decide

    result = analyze(str(capture), device=device, indicators=indicators)
    damaged = result.stats.warnings  # a part of the capture that could not be read
    result.verdict = decide(result.findings, None, [], _app_policy(policy), incomplete=damaged).to_dict()
    return result


def screen(
    file: str | os.PathLike[str] | None = None,
    *,
    names: Iterable[str] = (),
    country: str | None = None,
    threshold: float | None = None,
    include_people: bool = False,
) -> list[Screened]:
    """Screen a party file (CSV, XLSX, JSON) or ``names`` against the restriction lists: one
    :class:`~techvet.screen.batch.Screened` per row, its possible matches best first."""
    from techvet.screen import DEFAULT_THRESHOLD
    from techvet.screen.batch import screen_rows
    from techvet.screen.inputs import Row, read_parties, rows_of_names

    wanted = [names] if isinstance(names, str) else [str(n) for n in names]  # one name is a name, not letters
    if (file is None) == (not wanted):
        raise UsageError("give a party file or names, not both and not neither")
    if file is not None:
        rows: Iterable[Row] = read_parties(str(file))
    else:
        rows = rows_of_names(wanted, country)
    out = list(screen_rows(rows, DEFAULT_THRESHOLD if threshold is None else threshold, include_people))
    if not out:
        raise NothingToAnalyseError(f"{file}: no rows to screen")
    return out


def fleet(
    inventory: str | os.PathLike[str],
    *,
    policy: str | os.PathLike[str] | Policy | None = None,
    app_policy: str | os.PathLike[str] | AppPolicy | None = None,
    apps: str | os.PathLike[str] | None = None,
    columns: str | dict[str, str] | None = None,
) -> FleetReport:
    """Decide every device of an inventory under a fleet policy (default: the US federal rules)."""
    from techvet.fleet.policy import Policy
    from techvet.fleet.register import fleet as decide_fleet

    chosen = policy if isinstance(policy, Policy) or policy is None else str(policy)
    return decide_fleet(
        str(inventory),
        policy=chosen,
        app_policy=app_policy if isinstance(app_policy, AppPolicy) or app_policy is None else str(app_policy),
        apps=None if apps is None else str(apps),
        columns=columns,
    )


__all__ = ["fleet", "scan", "screen", "traffic"]
