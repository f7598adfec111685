"""Re-judging in the service: one run at a time in a thread, started by a request, a policy change
or a new list snapshot, its progress readable while it runs. The judging itself is
:mod:`techvet.store.rejudge`; new knowledge files queue the stored apps to be scanned again
(:mod:`techvet.store.rescan`), which the workers do."""

from __future__ import annotations

import threading
from typing import Any

from techvet.store import events
from techvet.store.db import Store
from techvet.store.models import Setting


class Rejudging:
    """One re-judging run at a time, in a thread: a request starts it and answers at once."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._pending: tuple[str, str, bool] | None = None
        self._last: dict[str, Any] = {"running": False}

    def start(self, cause: str, actor: str, rescreen: bool) -> bool:
        """Start a run, or (one is running) owe one more after it: a change made during a run is
        never left unjudged. False when it was owed rather than started."""
        with self._lock:
            if self._thread is not None and self._thread.is_alive():
                self._pending = (cause, actor, rescreen or bool(self._pending and self._pending[2]))
                return False
            self._thread = threading.Thread(target=self._runs, args=(cause, actor, rescreen), daemon=True)
            self._last = {"running": True, "cause": cause}
            self._thread.start()
            return True

    def _runs(self, cause: str, actor: str, rescreen: bool) -> None:
        while True:
            self._run(cause, actor, rescreen)
            with self._lock:
                if self._pending is None:
                    return
                (cause, actor, rescreen), self._pending = self._pending, None

    def _run(self, cause: str, actor: str, rescreen: bool) -> None:
        import time

        from techvet.knowledge import load
        from techvet.screen.update import installed_snapshot
        from techvet.store.rejudge import rejudge_apps, rejudge_files

        started = time.perf_counter()
        try:
            seen = installed_snapshot()  # before the load: a snapshot installed meanwhile is judged again
            load.cache_clear()  # the lists or knowledge may be new: read them again
            kb = load()
            if rescreen:
                with self.store.session() as session:
                    events.record(session, actor, "lists", f"lists in use: {_lists_line(kb)}", cause=cause)
            done = rejudge_apps(self.store.session, kb, cause, actor, rescreened=rescreen)
            with self.store.session() as session:
                files = rejudge_files(session, self.store.data, cause, actor)
                done.judged += files.judged
                done.changed += files.changed
                _remember(session, "lists_identity", seen or "")
            self._last = {"running": False, "cause": cause, "judged": done.judged, "changed": done.changed[:100],
                          "seconds": round(time.perf_counter() - started, 2)}  # fmt: skip
        except Exception as exc:  # noqa: BLE001 - a failed run is reported, the service goes on
            self._last = {"running": False, "cause": cause, "error": f"{type(exc).__name__}: {exc}"}

    def status(self) -> dict[str, Any]:
        with self._lock:
            running = self._thread is not None and self._thread.is_alive()
        return {**self._last, "running": running}


def _lists_line(kb: Any) -> str:
    return ", ".join(f"{k} as of {v.get('as_of')}" for k, v in sorted(kb.restriction_forms.lists.items()))


def _remember(session: Any, key: str, value: str) -> None:
    row = session.get(Setting, key)
    if row is None:
        session.add(Setting(key=key, value=value))
    else:
        row.value = value


def lists_watch(state: Rejudging) -> None:
    """Re-judge everything when ``techvet lists update`` has installed a new snapshot."""
    from techvet.screen.update import installed_snapshot

    identity = installed_snapshot()
    with state.store.session() as session:
        row = session.get(Setting, "lists_identity")
        known = row.value if row else None
    if identity and identity != known:
        state.start("a new list snapshot was installed", "techvet", rescreen=True)


def knowledge_watch(session: Any) -> int:
    """Queue every stored app scanned under other knowledge than the installed one to be scanned
    again (:mod:`techvet.store.rescan`); how many."""
    from techvet.knowledge import identity
    from techvet.store.rescan import queue_stale

    return queue_stale(session, identity())


def watch(state: Rejudging) -> None:
    """What the service checks every few seconds: a new list snapshot, new knowledge files."""
    lists_watch(state)
    with state.store.session() as session:
        knowledge_watch(session)


async def install_lists(state: Rejudging, data: bytes, actor: str) -> tuple[Any, dict[str, tuple[int, int]]]:
    """Install an uploaded list snapshot (checked whole by ``install_snapshot``, which raises one
    line), record it with the lists whose counts changed, and judge everything again under it:
    what the API's ``PUT /lists`` and the lists page both do. The new folder and the counts."""
    from fastapi.concurrency import run_in_threadpool

    from techvet.screen.update import install_snapshot

    folder, counts = await run_in_threadpool(install_snapshot, data)
    changed = ", ".join(f"{k} {a}->{b}" for k, (a, b) in sorted(counts.items()) if a != b) or "no counts changed"
    with state.store.session() as session:
        events.record(session, actor, "lists", f"list snapshot {folder.name} uploaded: {changed}")
    state.start(f"list snapshot uploaded by {actor}", actor, rescreen=True)
    return folder, counts
