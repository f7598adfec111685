"""Judging from stored facts (issue 14): a stored result screened again against the same lists gives
exactly the findings and verdict of a fresh scan, so re-judging after a list change can be trusted
without reading the app again."""

from __future__ import annotations

import json

import pytest

pytest.importorskip("sqlalchemy", reason="the service's extra is not installed (pip install -e '.[serve]')")

from techvet.knowledge import load  # noqa: E402
from techvet.scan import scan  # noqa: E402
from techvet.store.judging import judge, rescreen, why_changed  # noqa: E402
from techvet.verdict import AppPolicy  # noqa: E402
from tests.conftest import CORPUS, FIXTURES, corpus_present  # noqa: E402


def _apps() -> list[str]:
    apps = sorted(str(p) for p in FIXTURES.glob("*.apk"))
    if corpus_present():
        apps += sorted(str(p) for p in CORPUS.glob("*.apk"))[:12]
    return apps


@pytest.mark.parametrize("path", _apps(), ids=lambda p: p.rsplit("/", 1)[-1])
def test_a_stored_result_screened_again_equals_a_fresh_scan(path: str) -> None:
    result = scan(path)
    result.judge()
    doc = json.loads(json.dumps(result.to_dict()))  # as the database gives it back
    again, findings = rescreen(doc, load())
    assert again["findings"] == doc["findings"]
    assert judge(again, AppPolicy.load(), findings) == doc["verdict"]


def test_screening_findings_dropped_from_a_stored_result_come_back() -> None:
    result = scan(FIXTURES / "drone_companion.apk")
    result.judge()
    doc = json.loads(json.dumps(result.to_dict()))
    stripped = {**doc, "findings": [f for f in doc["findings"] if not f["rule"].startswith("TV60")]}
    again, _ = rescreen(stripped, load())
    assert [f for f in again["findings"] if f["rule"] == "TV602"]
    assert again["findings"] == doc["findings"]


def test_a_changed_verdict_is_told_in_one_line_with_party_list_and_date() -> None:
    doc = {
        "findings": [
            {"rule": "TV602", "subject": "Tencent", "title": "SDK vendor 'Tencent' matches us-dod-1260h",
             "extra": {"list": "us-dod-1260h", "list_as_of": "2025-01-07",
                       "entries": [{"name": "Tencent Holdings Ltd.", "listed_on": "2025-01-07"}]}}
        ]
    }  # fmt: skip
    old = {"verdict": "pass", "decided_by": []}
    new = {
        "verdict": "fail",
        "decided_by": [{"line": "APP-LISTED-VENDOR", "findings": [{"rule": "TV602", "subject": "Tencent"}]}],
    }
    assert (
        why_changed(old, new, doc)
        == "pass -> fail: Tencent Holdings Ltd. on us-dod-1260h since 2025-01-07 (APP-LISTED-VENDOR)"
    )
