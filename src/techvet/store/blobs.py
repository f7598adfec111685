"""Uploaded files, content-addressed: ``<data>/blobs/ab/abcdef...`` by SHA-256, each stored once.

The name a user gave a file is never a path here (a name like ``../../etc/passwd`` is only a label
in the database, shown escaped), so no upload can write outside the blob folder.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path
from typing import BinaryIO

from techvet.errors import InputError

CHUNK = 1 << 20


class TooLarge(InputError):
    """An upload over the size cap."""


def blob_path(data: Path, sha256: str) -> Path:
    if len(sha256) != 64 or not all(c in "0123456789abcdef" for c in sha256):
        raise ValueError(f"not a sha256: {sha256!r}")
    return data / "blobs" / sha256[:2] / sha256


def put(data: Path, source: BinaryIO, cap: int) -> tuple[str, int]:
    """Copy ``source`` into the blob folder while hashing it; (sha256, size). Past ``cap`` bytes the
    copy stops and :class:`TooLarge` is raised, whatever size the request declared."""
    folder = data / "blobs"
    folder.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256()
    size = 0
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".upload-")
    try:
        with os.fdopen(fd, "wb") as out:
            while chunk := source.read(CHUNK):
                size += len(chunk)
                if size > cap:
                    raise TooLarge(f"upload over the {cap // 2**20} MiB limit")
                digest.update(chunk)
                out.write(chunk)
        sha = digest.hexdigest()
        final = blob_path(data, sha)
        final.parent.mkdir(exist_ok=True)
        if final.exists():
            os.unlink(tmp)  # stored once: the same bytes uploaded again keep the first copy
        else:
            os.replace(tmp, final)
        return sha, size
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
