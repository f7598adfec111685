"""Installing a downloaded copy of knowledge under the user's data folder (a list snapshot from
``techvet lists update``, an indicator index from ``techvet iocs update``).

The copy is written whole into a fresh folder, then made current by one rename of a ``current``
link, so a reader never sees half of one and a failed write never replaces good data. The copy
before it is kept for a look back; older ones are removed.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path


def install_current(root: Path, prefix: str, write: Callable[[Path], None]) -> Path:
    """Make ``root``/<prefix><time>-<random> with ``write`` (given the new folder), point
    ``root/current`` at it, and remove every ``prefix`` folder but it and the one it replaced."""
    root.mkdir(parents=True, exist_ok=True)
    previous = (root / "current").resolve() if (root / "current").is_symlink() else None
    folder = Path(tempfile.mkdtemp(prefix=f"{prefix}{time.strftime('%Y%m%dT%H%M%S')}-", dir=root))
    write(folder)
    link = root / f".current-{os.getpid()}"
    link.unlink(missing_ok=True)
    link.symlink_to(folder.name)
    os.replace(link, root / "current")
    for old in root.glob(f"{prefix}*"):
        if old not in (folder, previous):
            shutil.rmtree(old, ignore_errors=True)
    return folder


__all__ = ["install_current"]
