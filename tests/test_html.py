"""The HTML report: self-contained, inert for a hostile app, the bulk index, and its speed."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from html.parser import HTMLParser
from pathlib import Path

import pytest

from tests.axml_builder import manifest_only_apk
from tests.conftest import fixture_app

CORPUS = Path(os.environ.get("TECHVET_CORPUS", str(Path.home() / ".cache" / "techvet-corpus")))
PAYLOAD = '<script>alert(1)</script>"><img src=x onerror=alert(2)><a href="javascript:alert(3)">x</a>'


class Markup(HTMLParser):
    """Every tag and attribute of a document, to check nothing could run."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[str] = []
        self.attrs: list[tuple[str, str]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.attrs.extend((k, v or "") for k, v in attrs)

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def parse(html: str) -> Markup:
    markup = Markup()
    markup.feed(html)
    return markup


def scan_html(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "techvet.cli", "scan", *args, "-f", "html"], capture_output=True, text=True, timeout=120
    )


def inert(markup: Markup) -> None:
    assert not {"script", "iframe", "object", "embed", "link", "img", "base", "form"} & set(markup.tags)
    assert not [k for k, _ in markup.attrs if k.startswith("on")]
    assert not [v for k, v in markup.attrs if k in ("href", "src") and not v.endswith(".html")]


@pytest.fixture
def hostile_app(tmp_path: Path) -> Path:
    return manifest_only_apk(tmp_path / "hostile.apk", "org.example.hostile", PAYLOAD)


def test_hostile_app_renders_inert(hostile_app: Path) -> None:
    run = scan_html(str(hostile_app))
    assert run.returncode == 0
    markup = parse(run.stdout)
    inert(markup)
    assert PAYLOAD in "".join(markup.text)  # the label is there, as text


def test_report_is_self_contained_and_complete() -> None:
    html = scan_html(str(fixture_app("drone_companion.apk"))).stdout
    markup = parse(html)
    inert(markup)
    assert "http-equiv" in {k for k, _ in markup.attrs} and "default-src 'none'" in html  # the CSP
    text = " ".join(markup.text)
    for section in (
        "Where the data goes",
        "Embedded SDKs",
        "What it can do",
        "Hiding and anti-analysis",
        "Who is behind it",
    ):
        assert section in text
    assert "FAIL" in text and "risk score" in text and "score = 100 x" in text
    assert markup.tags.count("details") >= 20  # every finding opens to its evidence
    assert 'class="owner"' in html  # CN is coloured on the map


def test_bulk_index(tmp_path: Path) -> None:
    out = tmp_path / "report"
    apps = [str(fixture_app(n)) for n in ("drone_companion.apk", "clean_app.apk", "legu_like.apk")]
    run = scan_html(*apps, "-o", str(out))
    assert run.returncode == 0, run.stderr
    pages = sorted(p.name for p in out.iterdir())
    assert pages == sorted(
        [
            "index.html",
            "index-by-app.html",
            "index-by-verdict.html",
            "drone_companion.apk.html",
            "clean_app.apk.html",
            "legu_like.apk.html",
        ]
    )
    index = (out / "index.html").read_text()
    inert(parse(index))
    links = [v for k, v in parse(index).attrs if k == "href"]
    assert all((out / link).is_file() for link in links)
    assert index.index("drone_companion.apk.html") < index.index("clean_app.apk.html")  # riskiest first
    assert scan_html(*apps).returncode == 2  # several apps need a folder


@pytest.mark.skipif(not CORPUS.is_dir(), reason="the real-app corpus is not in ~/.cache/techvet-corpus")
def test_rendering_fifty_pages_and_index_is_faster_than_scanning_them(tmp_path: Path) -> None:
    import techvet
    from techvet.report.html import render
    from techvet.report.html_index import page_name, write_index
    from techvet.verdict import AppPolicy, decide

    files = (sorted(CORPUS.glob("*.apk")) * 2)[:50]
    policy = AppPolicy.load()
    started = time.perf_counter()
    results = [techvet.scan(f) for f in files]
    scanning = time.perf_counter() - started
    started = time.perf_counter()
    rows, used = [], set()
    for r in results:
        assert r.app is not None
        r.verdict = decide(r.findings, r.app.package, [], policy).to_dict()
        name = page_name(r.path, used)
        (tmp_path / name).write_text(render(r), encoding="utf-8")
        rows.append(
            {
                "page": name,
                "title": r.app.package,
                "package": "",
                "version": "",
                "verdict": r.verdict["verdict"],
                "score": r.verdict["score"],
                "top": [],
            }
        )
    write_index(tmp_path, rows, [])
    rendering = time.perf_counter() - started
    assert rendering < scanning
