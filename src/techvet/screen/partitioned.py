"""Screening a huge party file on many workers: rows in blocks, each block screened where the
index is already built, the results handed back in input order.

The rows are still read as a stream (the file never sits in memory); a block of
:data:`BLOCK_ROWS` rows travels to a worker and comes back as its results. Each worker builds the
screening index once (``warm``), on the local process pool (``screen -j N``) or on a Dask cluster
(``--cluster``). A block whose worker died or ran over its time comes back with each of its rows
marked unreadable with the reason, so the run still ends with every row accounted for.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator
from dataclasses import replace
from itertools import islice

from techvet.many import Failed, run_many
from techvet.screen.batch import Rendered, Screened, render_row, screen_rows
from techvet.screen.inputs import Row

BLOCK_ROWS = 2000


def _blocks(rows: Iterable[Row]) -> Iterator[list[Row]]:
    source = iter(rows)
    while block := list(islice(source, BLOCK_ROWS)):
        yield block


def _screen_block(block: list[Row], shared: tuple[float, bool, str, bool]) -> list[Rendered]:
    threshold, include_people, fmt, verbose = shared
    return [render_row(s, fmt, verbose) for s in screen_rows(block, threshold, include_people)]


def _warm() -> None:
    from techvet.knowledge import load

    load().screening_index  # noqa: B018 - built here, once per worker, not on its first block


def screen_partitioned(
    rows: Iterable[Row],
    threshold: float,
    include_people: bool,
    fmt: str,
    verbose: bool = False,
    jobs: int = 0,
    cluster: str | None = None,
) -> Iterator[Rendered]:
    """What screening ``rows`` one by one and rendering each in ``fmt`` gives, with the work spread
    over workers (each renders its block: what comes back is text, not scoring objects)."""
    shared = (threshold, include_people, fmt, verbose)
    results = run_many(_blocks(rows), _screen_block, shared, jobs=jobs, cluster=cluster, warm=_warm)
    with contextlib.closing(results):
        for block, result in results:
            if isinstance(result, Failed):
                for row in block:
                    yield render_row(Screened(replace(row, error=f"not screened: {result.reason}")), fmt, verbose)
            else:
                yield from result
