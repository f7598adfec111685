"""Which reader reads a file: Android's (``techvet.app``) or iOS's (``techvet.ios``).

By name first (``.ipa``, a ``.app`` folder); a zip under another name that is not an Android app
is tried as an iOS one before it is refused, so a renamed download still reads.
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
    if is_ios_app(path):
        return read_ios_app(path)
    try:
        return read_app(path)
    except NotAnAppError as first:
        if not os.path.isfile(path):
            raise
        with open(path, "rb") as fh:
            if fh.read(4) != b"PK\x03\x04":
                raise
        try:
            return read_ios_app(path)
        except NotAnAppError:
            raise first from None
