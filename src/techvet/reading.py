"""Which reader reads a file: Android's (``techvet.app``) or iOS's (``techvet.ios``).

By name first (``.ipa`` or a ``.app`` folder to iOS's, the rest to Android's); a zip the first
reader says is not its kind is tried by the other before it is refused, so a download saved under
the wrong name (or the service's stored uploads, which have none) still reads.
"""

from __future__ import annotations

import os

from techvet.app.reader import APP_SUFFIXES as ANDROID_SUFFIXES
from techvet.app.reader import App, read_app
from techvet.errors import NotAnAppError
from techvet.ios.reader import IPA_SUFFIXES, is_ios_app, read_ios_app

APP_SUFFIXES = (*ANDROID_SUFFIXES, *IPA_SUFFIXES)


def read_any(path: str | os.PathLike[str]) -> App:
    """Read an Android or iOS app; raises an InputError subclass naming the file."""
    path = os.fspath(path)
    if os.path.isdir(path):
        return read_ios_app(path) if is_ios_app(path) else read_app(path)
    first, second = (read_ios_app, read_app) if is_ios_app(path) else (read_app, read_ios_app)
    try:
        return first(path)
    except NotAnAppError as refused:
        if not _is_zip(path):
            raise
        try:
            return second(path)
        except NotAnAppError:
            raise refused from None


def _is_zip(path: str) -> bool:
    try:
        with open(path, "rb") as fh:
            return fh.read(4) == b"PK\x03\x04"
    except OSError:
        return False
