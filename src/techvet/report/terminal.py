"""Text for a terminal or a pipe: colour only where a person is reading, and never when NO_COLOR says no.

Every text report goes through :func:`console`: on a terminal, verdicts, decisions and severities
are coloured; in a pipe or a file, and whenever ``NO_COLOR`` is set (https://no-color.org), the
output is plain text, 120 columns wide. Lines of prose are kept whole (soft wrap); a table's cells
fold a long host or class name onto the next line rather than cut it short.
"""

from __future__ import annotations

import os
import shutil
from typing import TextIO

from rich.console import Console

from techvet.findings import Severity

SEVERITY_STYLE = {
    Severity.CRITICAL: "bold red",
    Severity.HIGH: "red",
    Severity.MEDIUM: "yellow",
    Severity.LOW: "cyan",
    Severity.INFO: "dim",
}
VERDICT_STYLE = {"fail": "bold red", "warn": "bold yellow", "pass": "bold green"}
DECISION_STYLE = {"ground": "bold red", "restrict": "bold yellow", "review": "yellow", "allow": "green"}
PLAIN_WIDTH = 120


def wants_color(stream: TextIO) -> bool:
    """Whether text written to ``stream`` should be coloured: a terminal, and NO_COLOR unset."""
    if os.environ.get("NO_COLOR") or os.environ.get("TERM") == "dumb":
        return False
    try:
        return stream.isatty()
    except (AttributeError, ValueError):  # a closed or unusual stream: plain text
        return False


def colored_report(fmt: str, output: str | None) -> bool:
    """Whether a command's report gets colour: text, written to standard output, on a terminal."""
    import sys

    return fmt == "text" and not output and wants_color(sys.stdout)


def console(out: TextIO, color: bool | None = None) -> Console:
    """A rich console writing to ``out``. ``color`` None: decided by :func:`wants_color` of ``out``;
    True: colour even into a buffer (a worker rendering for the terminal its parent writes to)."""
    if color is None:
        color = wants_color(out)
    width = shutil.get_terminal_size((PLAIN_WIDTH, 40)).columns if color else PLAIN_WIDTH
    return Console(soft_wrap=True, file=out, no_color=not color, force_terminal=color, highlight=False, width=width)


def paint(text: str, style: str, color: bool) -> str:
    """``text`` in ``style`` as terminal escape codes when ``color``, else as it is (for plain writes
    that do not go through a console)."""
    if not color:
        return text
    from rich.color import ColorSystem
    from rich.style import Style

    return Style.parse(style).render(text, color_system=ColorSystem.STANDARD)


__all__ = [
    "DECISION_STYLE",
    "SEVERITY_STYLE",
    "VERDICT_STYLE",
    "colored_report",
    "console",
    "paint",
    "wants_color",
]
