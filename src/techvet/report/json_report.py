"""JSON output: one compact object per app per line (JSON Lines), shape in docs/json-schema.json."""

from __future__ import annotations

import json

from techvet.scan import ScanResult


def render(result: ScanResult) -> str:
    return json.dumps(result.to_dict(), ensure_ascii=False, separators=(",", ":"))
