"""Renderers of scan results: one module per format, all reading the same :class:`ScanResult`."""

from __future__ import annotations

import contextlib
import sys
from typing import Any

from techvet.errors import TechvetError


def opened_output(output: str | None) -> Any:
    """A context manager giving where a command writes: the file ``-o`` names, or standard output.
    Commands open it only once their input was found to hold something, so a refused run leaves
    no empty file behind."""
    if not output:
        return contextlib.nullcontext(sys.stdout)
    try:
        return open(output, "w", encoding="utf-8", newline="")  # noqa: SIM115 - the caller's with closes it
    except OSError as exc:
        raise TechvetError(f"{output}: cannot write ({exc.strerror})") from None


def write_report(text: str, output: str | None) -> None:
    """A whole rendered report to ``output`` (a file), or to standard output when None."""
    if not output:
        sys.stdout.write(text)
        return
    try:
        with open(output, "w", encoding="utf-8") as out:
            out.write(text)
    except OSError as exc:
        raise TechvetError(f"{output}: cannot write ({exc.strerror})") from None


def say_update(updated: dict[str, tuple[int, int]], kept: dict[str, str], unit: str, installed: str | None) -> int:
    """What an update command says (``lists update``, ``iocs update``): each part refreshed with its
    counts, each part that kept its copy in use with why (on standard error), what was installed.
    The exit code: 2 when a part was kept, else 0."""
    width = max([20, *map(len, updated)])
    for name, (old, new) in updated.items():
        print(f"{name:{width}} updated: {new} {unit} (was {old})")
    for name, why in kept.items():
        print(f"techvet: {name}: not updated: {why}", file=sys.stderr)
    if installed is not None:
        print(installed)
    return 2 if kept else 0


__all__ = ["opened_output", "say_update", "write_report"]
