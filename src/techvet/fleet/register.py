"""A whole fleet register decided: the devices one at a time, the summary counted on the way.

``decide_register`` yields a decision per device, so ``techvet fleet`` writes a 100,000-row
inventory with the memory of one row; :func:`fleet` (``techvet.fleet`` in Python) collects them into
a :class:`FleetReport` whose ``to_dict()`` is exactly the command's JSON.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from techvet.errors import NothingToAnalyseError, TechvetError
from techvet.fleet.decide import Verdict, vet
from techvet.fleet.inventory import Inventory, open_inventory, parse_columns
from techvet.fleet.models import names_someone
from techvet.fleet.policy import DECISIONS, Policy
from techvet.knowledge import Knowledge, load
from techvet.verdict import AppPolicy


class Summary:
    """Counts by decision, maker and rule, and the rows that were no device."""

    def __init__(self) -> None:
        self.decisions: Counter[str] = Counter()
        self.makers: Counter[str] = Counter()
        self.rules: Counter[str] = Counter()
        self.unreadable = 0

    def add(self, v: Verdict) -> None:
        if v.device.error:
            self.unreadable += 1
            return
        self.decisions[v.decision] += 1
        named = v.device.make if names_someone(v.device.make) else None
        self.makers[v.brand or (f"{named} (not in the catalogue)" if named else "not given")] += 1
        self.rules.update(r["rule"] for r in v.reasons)

    def require_devices(self, source: str) -> None:
        """Refuse a register in which no row was a device: rows that could not be read are not a
        fleet that may fly."""
        if not self.decisions.total():
            raise NothingToAnalyseError(f"{source}: no device rows (a header and {self.unreadable} unusable rows)")

    def as_dict(self) -> dict[str, Any]:
        return {
            "devices": self.decisions.total(),
            "unreadable_rows": self.unreadable,
            "by_decision": {d: self.decisions[d] for d in DECISIONS},
            "by_maker": dict(self.makers.most_common()),
            "by_rule": dict(self.rules.most_common()),
        }


@dataclass
class FleetReport:
    """A decided register: the policy, every device's decision, the summary, and warnings about the
    file as a whole (no model column ...)."""

    policy: Policy
    devices: list[Verdict] = field(default_factory=list)
    summary: Summary = field(default_factory=Summary)
    warnings: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """The JSON ``techvet fleet --format json`` prints."""
        return {
            "policy": {"id": self.policy.id, "title": self.policy.title},
            "warnings": list(self.warnings),
            "devices": [v.to_dict() for v in self.devices],
            "summary": self.summary.as_dict(),
        }


def scan_apps(folder: str, kb: Knowledge | None = None) -> dict[str, Any]:
    """Scan the companion apps of a folder (``--apps``): package id -> result."""
    from techvet.scan import iter_scan

    if not Path(folder).is_dir():
        raise TechvetError(f"--apps {folder}: not a folder")
    out = {}
    for result in iter_scan([folder], kb):
        if result.ok and result.app is not None and result.app.package:
            out[result.app.package] = result
    return out


def open_register(path: str, columns: str | dict[str, str] | None = None) -> Inventory:
    """The inventory, checked to hold a header with a make or model column."""
    mapping = parse_columns(columns) if isinstance(columns, str) or columns is None else columns
    return open_inventory(path, mapping)


def decide_register(
    inventory: Inventory,
    policy: Policy,
    app_policy: AppPolicy | None = None,
    app_results: Mapping[str, Any] | None = None,
    kb: Knowledge | None = None,
    app_files: bool = True,
) -> Iterator[Verdict]:
    """Each device's decision, as the inventory is read (``app_files``: see :func:`vet`)."""
    kb = kb or load()
    for device in inventory.devices:
        yield vet(device, policy, kb, app_results, app_policy, app_files=app_files)


def fleet(
    inventory: str,
    *,
    policy: str | Policy | None = None,
    app_policy: str | AppPolicy | None = None,
    apps: str | None = None,
    columns: str | dict[str, str] | None = None,
    app_files: bool = True,
    app_results: Mapping[str, Any] | None = None,
) -> FleetReport:
    """Decide every device of an inventory (CSV, XLSX or JSON) under a fleet policy (the default:
    the US federal rules). Companion apps: those scanned from the ``apps`` folder, or
    ``app_results`` already made (the service's stored scans). Raises
    :class:`~techvet.errors.NothingToAnalyseError` when the file holds no device row, and a
    :class:`~techvet.errors.TechvetError` for an unreadable file."""
    kb = load()
    chosen = policy if isinstance(policy, Policy) else Policy.load(policy)
    judge_apps = app_policy if isinstance(app_policy, AppPolicy) else AppPolicy.load(app_policy)
    register = open_register(inventory, columns)
    report = FleetReport(chosen, warnings=list(register.notes))
    if apps:
        app_results = scan_apps(apps, kb)
    for verdict in decide_register(register, chosen, judge_apps, app_results, kb, app_files):
        report.summary.add(verdict)
        report.devices.append(verdict)
    report.summary.require_devices(inventory)
    return report


__all__ = ["FleetReport", "Summary", "decide_register", "fleet", "open_register", "scan_apps"]
