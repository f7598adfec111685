"""An inventory file (CSV, XLSX or JSON, read by techvet.tables) as devices.

Columns are recognised by common header names (make/manufacturer/brand, model/aircraft/platform,
serial, firmware, unit/owner unit, app/companion app/package/apk, and per component
``<part>_maker`` / ``<part>_country`` for flight_controller, camera, gimbal, radio, battery,
ground_station), or mapped with ``--columns model=Aircraft,make=Brand``. A row without a model and
a make is reported by its line number and the rest go on.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from techvet.errors import TechvetError
from techvet.fleet.decide import Device
from techvet.fleet.policy import PARTS
from techvet.reading import APP_SUFFIXES
from techvet.tables import bad_text, clean, read_table, shown_header
from techvet.tables import parse_columns as parse_table_columns

_NAMES = {
    "make": ("make", "manufacturer", "brand", "maker", "vendor", "oem", "drone make", "aircraft make", "uas make"),
    "model": (
        "model",
        "aircraft",
        "platform",
        "uas model",
        "drone model",
        "aircraft model",
        "model name",
        "type",
        "drone type",
        "uas type",
        "aircraft type",
        "drone",
        "uas",
        "product",
    ),  # fmt: skip
    "serial": (
        "serial",
        "serial number",
        "serial no",
        "serial no.",
        "serial #",
        "sn",
        "s/n",
        "tail no",
        "tail no.",
        "tail number",
        "registration",
    ),  # fmt: skip
    "firmware": ("firmware", "firmware version", "fw"),
    "unit": ("unit", "owner unit", "owner", "department", "office", "bureau"),
    "app": ("app", "companion app", "package", "app package", "apk", "control app", "ground control app"),
}
MAX_CELL = 500


def parse_columns(spec: str | None) -> dict[str, str]:
    """``--columns model=Aircraft,make=Brand`` -> {"model": "Aircraft", "make": "Brand"}."""
    fields = set(_NAMES) | {f"{p}_{k}" for p in PARTS for k in ("maker", "country")}
    return parse_table_columns(spec, fields)


@dataclass
class Inventory:
    """An inventory being read: its columns as recognised, what to warn about them, and the
    devices (read one at a time from ``devices``)."""

    header: list[str]
    mapping: dict[str, str]  # field -> header cell
    devices: Iterator[Device]
    notes: list[str] = field(default_factory=list)  # warnings about the file as a whole


def open_inventory(path: str, columns: dict[str, str] | None = None) -> Inventory:
    """The inventory at ``path`` with its column mapping; a file without a model column is read
    (every device will be an unknown model, for a person to review) but said to be so."""
    header, records = read_table(path, "devices")
    try:
        mapping = _mapping(header, columns or {})
    except TechvetError as exc:
        raise TechvetError(f"{path}: {exc}") from None
    notes = []
    if "model" not in mapping:
        notes.append(
            f"no model column among {shown_header(header)}: every device is an unknown model "
            "(map one with --columns model=HEADER)"
        )

    def devices() -> Iterator[Device]:
        for record in records:
            if record.cells is None:
                yield Device(record.line, error=record.error)
                continue
            yield _device(record.line, record.cells, mapping, Path(path).parent)

    return Inventory(header, mapping, devices(), notes)


def read_inventory(path: str, columns: dict[str, str] | None = None) -> Iterator[Device]:
    """The devices of the inventory at ``path``, one at a time."""
    return open_inventory(path, columns).devices


def _mapping(header: list[str], explicit: dict[str, str]) -> dict[str, str]:
    """Field -> header cell."""
    out: dict[str, str] = {}
    lowered = {" ".join(h.replace("_", " ").split()).casefold(): h for h in header}
    for field_name, cell in explicit.items():
        if cell not in header:
            raise TechvetError(f"--columns: no column {cell!r} in the file")
        out[field_name] = cell
    for field_name, names in _NAMES.items():
        if field_name not in out:
            hit = next((lowered[n] for n in names if n in lowered), None)
            if hit is not None:
                out[field_name] = hit
    for part in PARTS:
        for kind in ("maker", "country"):
            key = f"{part}_{kind}"
            hit = lowered.get(key.replace("_", " "))
            if key not in out and hit is not None:
                out[key] = hit
    if "model" not in out and "make" not in out:
        raise TechvetError(
            f"no make or model column among {shown_header(header)} (map one with --columns model=HEADER)"
        )
    return out


def _app_path(text: str, folder: Path) -> str:
    """A companion app cell naming an APK: as written when it exists from here, else beside the
    inventory (an inventory names its apps relative to itself, wherever it is run from)."""
    if not text.lower().endswith(APP_SUFFIXES) or Path(text).is_absolute() or _exists(Path(text)):
        return text
    beside = folder / text
    return str(beside) if _exists(beside) else text


def _exists(path: Path) -> bool:
    """Whether a path a cell names exists; a name the system cannot even look up (too long, a NUL
    byte: found by `make fuzz`) does not, and the device's app is then reported as not found."""
    try:
        return path.exists()
    except (OSError, ValueError):
        return False


def _device(line: int, cells: dict[str, object], mapping: dict[str, str], folder: Path) -> Device:
    device = Device(line, raw={clean(k): clean(v) for k, v in cells.items()})
    for field_name, cell in mapping.items():
        value = cells.get(cell)
        text = "" if value is None else str(value).strip()
        if bad_text(text):
            device.error = f"column {cell!r}: not valid UTF-8"
            return device
        if len(text) > MAX_CELL:
            device.error = f"column {cell!r}: longer than {MAX_CELL} characters"
            return device
        if "_" in field_name and field_name.rsplit("_", 1)[0] in PARTS:
            part, kind = field_name.rsplit("_", 1)
            if text:
                device.components.setdefault(part, {})[kind] = text
        elif text:
            setattr(device, field_name, _app_path(text, folder) if field_name == "app" else text)
    if not device.model and not device.make:
        device.error = "no make and no model"
    return device


__all__ = ["Inventory", "open_inventory", "parse_columns", "read_inventory"]
