"""Detectors: small functions ``(app, knowledge) -> list[Finding]``, one concern per module.

They are registered in :data:`DETECTORS`, in the order their findings are reported. A detector
never parses bytes and never prints; one that raises is reported as a detector error on that app
(see :func:`techvet.scan.scan_app`) while the others still run.
"""

from __future__ import annotations

from collections.abc import Callable

from techvet.app.reader import App
from techvet.detect import (
    antianalysis,
    capabilities,
    crypto,
    endpoints,
    ios_behaviour,
    ios_endpoints,
    ios_sdks,
    ios_settings,
    manifest,
    sdks,
)
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
    # iOS only (each returns nothing for an Android app): the same findings from an .ipa's facts
    "ios_settings": ios_settings.detect,
    "ios_sdks": ios_sdks.detect,
    "ios_behaviour": ios_behaviour.detect,
    "ios_endpoints": ios_endpoints.detect,
}

# Detectors that read one platform's facts only; the rest (and the screening and indicator passes
# that run after them) serve both. An Android detector must never judge an IPA by what it looks for
# in an APK: a resource named like a packer's file is not a packer on iOS.
PLATFORM: dict[str, str] = {
    **dict.fromkeys(("manifest", "sdks", "capabilities", "antianalysis", "crypto", "endpoints"), "android"),
    **dict.fromkeys(("ios_settings", "ios_sdks", "ios_behaviour", "ios_endpoints"), "ios"),
}

__all__ = ["DETECTORS", "PLATFORM", "Detector"]
