"""A background thread that does one piece of work every few seconds until stopped.

The service's housekeeping (supervising workers, sending webhooks, noticing new list snapshots) is
each a function called on a timer; a failure of one round (a database hiccup, a receiver down) is
left to the next round, never allowed to end the thread.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable


class Periodic:
    def __init__(self, name: str, seconds: float, work: Callable[[], object]) -> None:
        self.seconds, self.work = seconds, work
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name=f"techvet-{name}", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def _loop(self) -> None:
        while not self._stop.wait(self.seconds):
            with contextlib.suppress(Exception):
                self.work()

    def stop(self) -> None:
        self._stop.set()
