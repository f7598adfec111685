"""Detectors: small functions ``(app, knowledge) -> list[Finding]``, one concern per module.

They are registered in :data:`DETECTORS`, in the order their findings are reported. A detector
never parses bytes and never prints; one that raises is reported as a detector error on that app
(see :func:`techvet.scan.scan_app`) while the others still run.
"""

from __future__ import annotations

from collections.abc import Callable

from techvet.app.reader import App
from techvet.detect import antianalysis, capabilities, crypto, endpoints, manifest, sdks
from techvet.findings import Finding
from techvet.knowledge import Knowledge

Detector = Callable[[App, Knowledge], list[Finding]]

DETECTORS: dict[str, Detector] = {
    "manifest": manifest.detect,
    "sdks": sdks.detect,
    "capabilities": capabilities.detect,
    "antianalysis": antianalysis.detect,
    "crypto": crypto.detect,
    "endpoints": endpoints.detect,
}

__all__ = ["DETECTORS", "Detector"]
