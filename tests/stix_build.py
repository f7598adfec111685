"""STIX 2.1 bundles with known contents: one malware object and an indicator per pattern, each
linked to it by an "indicates" relationship, the shape the MVT project publishes. The indicator
tests and the fuzzing harness's seeds both build theirs here."""

from __future__ import annotations

import json
from typing import Any


def bundle(patterns: list[str], name: str, malware_types: list[str] | None = None) -> str:
    """The bundle's JSON text."""
    malware: dict[str, Any] = {"type": "malware", "id": "malware--1", "name": name}
    if malware_types is not None:
        malware["malware_types"] = malware_types
    objects: list[dict[str, Any]] = [malware]
    for n, pattern in enumerate(patterns):
        objects.append({"type": "indicator", "id": f"indicator--{n}", "pattern": pattern, "pattern_type": "stix"})
        objects.append(
            {"type": "relationship", "id": f"relationship--{n}", "relationship_type": "indicates",
             "source_ref": f"indicator--{n}", "target_ref": "malware--1"}
        )  # fmt: skip
    return json.dumps({"type": "bundle", "id": "bundle--1", "objects": objects})
