"""Markdown for tickets: app text escaped in prose, shown as it is inside code spans (issue 11, item 10).

Checked with a CommonMark parser (markdown-it-py), which is what the ticket renders with."""

from __future__ import annotations

import pytest
from markdown_it import MarkdownIt

import techvet
from techvet.report.markdown import code, md, render
from tests.axml_builder import manifest_only_apk
from tests.conftest import fixture_app


def spans(text: str) -> list[str]:
    tokens = MarkdownIt("commonmark").parseInline(text)
    return [child.content for token in tokens for child in token.children or [] if child.type == "code_inline"]


def test_code_spans_show_the_policy_and_package_as_they_are() -> None:
    result = techvet.scan(fixture_app("drone_companion.apk"))
    page = render(result)
    head, verdict = page.splitlines()[0], next(line for line in page.splitlines() if "Verdict" in line)
    assert spans(head) == ["com.skyfleet.pilot"]
    assert spans(verdict) == ["us-federal"]  # it used to render as us\-federal


@pytest.mark.parametrize("text", ["us-federal", "a`b", "``x``", "`edge", "pipe|and*stars_", "<script>"])
def test_any_text_survives_a_code_span(text: str) -> None:
    assert spans(f"see {code(text)} here") == [text]


def test_a_hostile_package_stays_inside_its_span(tmp_path: object) -> None:
    from pathlib import Path

    path = manifest_only_apk(Path(str(tmp_path)) / "x.apk", "com.x`](javascript:alert(1))", label="<b>x</b>")
    page = render(techvet.scan(path))
    assert spans(page.splitlines()[0]) == ["com.x`](javascript:alert(1))"]
    html = MarkdownIt("commonmark").render(page)
    assert "<b>" not in html and 'href="javascript' not in html


def test_prose_is_escaped() -> None:
    assert MarkdownIt("commonmark").renderInline(md("*not bold* [x](y)")) == "*not bold* [x](y)"
