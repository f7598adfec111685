"""The per-item limits every batch runs under: an app (or a block of supplier rows) that makes a
worker hang or grow fails alone instead of taking the batch or the machine.

``TECHVET_ITEM_SECONDS`` (default 300) and ``TECHVET_ITEM_MEMORY_MB`` (default 3072) are read
wherever items run: the local process pool, a Dask worker, the service's workers.
"""

from __future__ import annotations

import os


def env_number(name: str, default: float) -> float:
    """A positive number from the environment variable ``name``, else ``default`` (a value that is
    not a positive number is ignored rather than allowed to switch a limit off)."""
    try:
        value = float(os.environ.get(name, default))
    except ValueError:
        return default
    return value if value > 0 else default


def item_limits() -> tuple[float, int]:
    """(seconds, bytes) one item may take in a batch worker, from the environment or the defaults."""
    return env_number("TECHVET_ITEM_SECONDS", 300.0), int(env_number("TECHVET_ITEM_MEMORY_MB", 3072.0) * 2**20)


def limit_memory(memory: int) -> None:
    """Cap this process's address space, so an item that makes it grow fails alone (a MemoryError
    in that item, or the worker's death) instead of taking the machine."""
    try:
        import resource

        soft, hard = resource.getrlimit(resource.RLIMIT_AS)
        cap = memory if hard == resource.RLIM_INFINITY else min(memory, hard)
        resource.setrlimit(resource.RLIMIT_AS, (cap, hard))
    except (ImportError, ValueError, OSError):  # not on this platform, or not allowed: no cap
        pass
