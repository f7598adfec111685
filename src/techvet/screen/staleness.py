"""Whether the lists in use may have changed since they were taken: a negative answer from an old
list is not "not listed", and every command that answers from the lists says so, once per run."""

from __future__ import annotations

from datetime import date
from typing import Any

from techvet.knowledge import DATA_DIR, Knowledge, _read, load

STALE_DAYS = 90


def closed_lists() -> dict[str, str]:
    """Lists that can no longer change (a set of orders already issued), with why: never stale."""
    doc = _read(DATA_DIR, "restriction_sources.yaml")
    return {k: str(v["closed"]) for k, v in doc.get("lists", {}).items() if isinstance(v, dict) and v.get("closed")}


def stale_lists(today: date | None = None, kb: Knowledge | None = None) -> list[str]:
    """Lists in use older than STALE_DAYS that could have changed since (closed lists never are).
    Read from the scan table's list dates, so a scan pays nothing for asking."""
    today = today or date.today()
    lists = (kb or load()).restriction_forms.lists
    closed = closed_lists()
    return [
        k for k, v in lists.items() if k not in closed and (today - date.fromisoformat(v["as_of"])).days > STALE_DAYS
    ]


def warn_if_stale(feedback: Any, today: date | None = None, kb: Knowledge | None = None) -> None:
    """Say, through a run's feedback (techvet.report.progress.Feedback), that lists it answered from
    are stale: once per run, whichever commands of it answered from the lists."""
    stale = stale_lists(today, kb)
    if stale:
        feedback.warn(
            f"{len(stale)} lists are older than {STALE_DAYS} days ({', '.join(stale)}): a party listed since is "
            "not found; `techvet lists update` refreshes them",
            key="stale-lists",
        )


__all__ = ["STALE_DAYS", "closed_lists", "stale_lists", "warn_if_stale"]
