"""A batch survives an app that hangs or kills its worker (issue 13, item 2): the app is named in
one error line, the workers are replaced, and every other app is still reported, in input order.

The workers are forked from the test process, so a patched ``render_one`` reaches them: an app
named ``slow`` sleeps past the per-app limit and one named ``crash`` ends its worker outright, which
no real input may be trusted to do on cue."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from techvet import bulk
from techvet.many.limits import item_limits
from tests.conftest import fixture_app


def _patched(monkeypatch: pytest.MonkeyPatch) -> None:
    real = bulk.render_one

    def render_one(path: str, *args: object, **kwargs: object) -> bulk.Rendered:
        if path.endswith("slow.apk"):
            time.sleep(60)
        if path.endswith("crash.apk"):
            os._exit(9)
        return real(path, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(bulk, "render_one", render_one)


def _apps(tmp_path: Path, names: list[str]) -> list[str]:
    out = []
    for name in names:
        target = tmp_path / name
        target.write_bytes(fixture_app("clean_app.apk").read_bytes())
        out.append(str(target))
    return out


@pytest.mark.parametrize("jobs", [1, 2])
def test_an_app_that_hangs_is_named_and_the_rest_are_reported(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, jobs: int
) -> None:
    _patched(monkeypatch)
    monkeypatch.setenv("TECHVET_ITEM_SECONDS", "8")  # room for a loaded machine
    paths = _apps(tmp_path, ["a.apk", "slow.apk", "b.apk", "c.apk"])
    started = time.monotonic()
    results = list(bulk.render_many(paths, "json", jobs=jobs))
    assert time.monotonic() - started < 50
    assert [r.path for r in results] == paths
    assert [r.ok for r in results] == [True, False, True, True]
    assert "gave up after 8 s (per-app limit)" in results[1].output


@pytest.mark.parametrize("jobs", [1, 2])
def test_an_app_that_kills_its_worker_is_named_and_the_rest_are_reported(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, jobs: int
) -> None:
    _patched(monkeypatch)
    paths = _apps(tmp_path, ["a.apk", "b.apk", "crash.apk", "c.apk", "d.apk"])
    results = list(bulk.render_many(paths, "json", jobs=jobs))
    assert [r.path for r in results] == paths
    assert [r.ok for r in results] == [True, True, False, True, True]
    assert "the worker running it died" in results[2].output


def test_the_limits_come_from_the_environment_with_sane_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TECHVET_ITEM_SECONDS", raising=False)
    monkeypatch.delenv("TECHVET_ITEM_MEMORY_MB", raising=False)
    assert item_limits() == (300.0, 3072 * 2**20)
    monkeypatch.setenv("TECHVET_ITEM_SECONDS", "nonsense")
    monkeypatch.setenv("TECHVET_ITEM_MEMORY_MB", "-5")
    assert item_limits() == (300.0, 3072 * 2**20)


def _timed(item: tuple[int, str], shared: object) -> int:
    number, folder = item
    if number == 3:
        os._exit(9)  # this item kills its worker
    started = time.monotonic()
    time.sleep(0.4)
    Path(folder, str(number)).write_text(f"{started} {time.monotonic()}")
    return number


def test_after_a_worker_dies_the_pool_runs_at_full_width_again(tmp_path: Path) -> None:
    """The items in flight when a worker died are run one at a time to find the one that did it;
    then the pool is back to all its workers (not one, nor two, for the rest of the run)."""
    from techvet.many.outcome import Failed
    from techvet.many.pool import run_pool

    items = [(i, str(tmp_path)) for i in range(40)]
    answered = list(run_pool(items, _timed, workers=4))
    assert [item for item, _ in answered] == items
    assert isinstance(answered[3][1], Failed) and "died" in answered[3][1].reason
    assert [r for _, r in answered if not isinstance(r, Failed)] == [i for i in range(40) if i != 3]
    spans = [tuple(map(float, (tmp_path / str(i)).read_text().split())) for i in range(20, 40)]
    overlap = max(sum(1 for s, e in spans if s <= at < e) for at, _ in spans)
    assert overlap >= 3  # four workers: at least three items at once, late in the run
