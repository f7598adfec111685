"""What a batch hands back for an item that has no result of its own."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Failed:
    """An item that gave no result: ``reason`` is one line without the item's name (the caller
    names it). ``retry``: the failure was the run's, not the item's (its worker died, it ran out
    of time, its source could not be fetched), so a rerun should try it again."""

    reason: str
    retry: bool = True


WORKER_DIED = "the worker running it died (out of memory or crashed)"


def gave_up(seconds: float) -> Failed:
    """The item ran over the per-item time limit."""
    return Failed(f"gave up after {seconds:g} s (per-app limit)")


def internal_error(exc: BaseException) -> Failed:
    """A bug in techvet on this item: said in one line, and not retried (it would fail again)."""
    return Failed(f"internal error: {type(exc).__name__}: {exc}", retry=False)
