"""Shared fixtures: the committed fixture apps and the optional real-app corpus."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

FIXTURES = Path(__file__).parent / "fixtures" / "apps"
CORPUS = Path(os.environ.get("TECHVET_CORPUS", Path.home() / ".cache" / "techvet-corpus"))
TRUTH = Path(os.environ.get("TECHVET_TRUTH", Path(__file__).resolve().parents[2] / "shared" / "corpus" / "TRUTH.tsv"))


def fixture_app(name: str) -> Path:
    path = FIXTURES / name
    assert path.exists(), f"fixture {path} missing: run tests/fixtures/build.sh"
    return path


def corpus_present() -> bool:
    return CORPUS.is_dir() and any(CORPUS.glob("*.apk"))


needs_corpus = pytest.mark.skipif(not corpus_present(), reason=f"real-app corpus not present in {CORPUS}")
needs_truth = pytest.mark.skipif(
    not (corpus_present() and TRUTH.is_file()),
    reason=f"corpus labels not found at {TRUTH} (set TECHVET_TRUTH; shared/ sits beside the checkout in CI)",
)
# the hostile inputs of issue 13 (shared/fuzz beside the checkout, as the corpus labels are)
REPRODUCERS = Path(__file__).resolve().parents[2] / "shared" / "fuzz" / "reproducers"
needs_reproducers = pytest.mark.skipif(
    not REPRODUCERS.is_dir(), reason="../shared/fuzz/reproducers not beside the clone"
)
