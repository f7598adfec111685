"""Renderers of scan results: one module per format, all reading the same :class:`ScanResult`."""

from __future__ import annotations

import sys

from techvet.errors import TechvetError


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


__all__ = ["write_report"]
