"""The exceptions techvet raises on purpose.

Every error a user can cause with bad input is a :class:`TechvetError`; the CLI turns it into one
red line and a non-zero exit, and a directory scan records it against the file and goes on::

    TechvetError
    ├── InputError            the input is not something techvet reads
    │   ├── NotAnAppError     a readable file that is not an Android app (no zip, no DEX)
    │   ├── MalformedAppError an app whose structure is broken (truncated zip, bad DEX, bad AXML)
    │   └── LimitExceededError an app that asks for more than the reading bounds (zip bomb, huge DEX,
    │                          absurd nesting): refused rather than risked
    └── KnowledgeError        a bundled or user-supplied knowledge file is invalid
"""

from __future__ import annotations


class TechvetError(Exception):
    """Base of every error techvet raises deliberately."""


class InputError(TechvetError):
    """The input cannot be read as an app."""


class NotAnAppError(InputError):
    """The file is readable but is not an Android app or bundle."""


class MalformedAppError(InputError):
    """The app's structure is broken (truncated archive, bad DEX or manifest)."""


class LimitExceededError(InputError):
    """Reading the app would exceed a memory, size or depth bound."""


class KnowledgeError(TechvetError):
    """A knowledge data file is missing or does not validate."""
