"""Results as a dataset anyone can query: Parquet tables (apps, sdks, capabilities, destinations,
findings, verdicts) joined by the app's SHA-256, written part by part as a run goes, resumable,
and asked in SQL with DuckDB (``techvet query``). Schema: docs/dataset.md.

pyarrow and DuckDB are the extra ``techvet[dataset]`` (``techvet[cluster]`` brings them too).
"""

from __future__ import annotations

from techvet.dataset.build import Tally, build_dataset
from techvet.dataset.tables import COLUMNS, TABLES

__all__ = ["COLUMNS", "TABLES", "Tally", "build_dataset"]
