"""The exceptions techvet raises on purpose.

Every error a user can cause with bad input is a :class:`TechvetError`; the CLI turns it into one
red line and a non-zero exit, and a directory scan records it against the file and goes on::

    TechvetError
    ├── UsageError            the command was asked something it cannot do (options that clash,
    │                         a value out of range): the message points at the command's --help
    ├── InputError            the input is not something techvet reads
    │   ├── NothingToAnalyseError  readable, but empty: a folder without apps, a capture without
    │   │                     packets, a file without rows (never a pass)
    │   ├── NotAnAppError     a readable file that is not an Android app (no zip, no DEX)
    │   ├── MalformedAppError an app whose structure is broken (truncated zip, bad DEX, bad AXML)
    │   └── LimitExceededError an app that asks for more than the reading bounds (zip bomb, huge DEX,
    │                          absurd nesting): refused rather than risked
    └── KnowledgeError        a bundled or user-supplied knowledge file is invalid
"""

from __future__ import annotations

from pathlib import Path


class TechvetError(Exception):
    """Base of every error techvet raises deliberately."""


class UsageError(TechvetError):
    """The command line asks for something the command cannot do."""


class InputError(TechvetError):
    """The input cannot be read: an app, a capture, a table or a saved result that is not one."""


class NothingToAnalyseError(InputError):
    """The input is readable but holds nothing to judge: saying so is never a pass."""


class NotAnAppError(InputError):
    """The file is readable but is not an Android app or bundle."""


class MalformedAppError(InputError):
    """The app's structure is broken (truncated archive, bad DEX or manifest)."""


class LimitExceededError(InputError):
    """Reading the app would exceed a memory, size or depth bound."""


class KnowledgeError(TechvetError):
    """A knowledge data file is missing or does not validate."""


def refuse_if_larger(path: str | Path, limit: int, shown: str = "", hint: str = "") -> None:
    """Refuse a file of more than ``limit`` bytes before reading it, so a hostile input cannot
    make a reader hold it in memory; every reader words it the same: ``X: refused: larger than N MiB``.
    ``shown`` names the file in the message when its path alone would not say what it is."""
    if Path(path).stat().st_size > limit:
        size = f"{limit >> 30} GiB" if limit >= 1 << 30 else f"{limit >> 20} MiB"
        raise InputError(f"{shown or path}: refused: larger than {size}{hint}")
