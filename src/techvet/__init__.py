"""techvet: decide, with evidence, whether a piece of foreign technology is safe to allow.

>>> import techvet
>>> result = techvet.scan("app.apk")          # doctest: +SKIP
>>> [f.title for f in result.findings]         # doctest: +SKIP
"""

from __future__ import annotations

__version__ = "0.1.0"

from techvet.errors import (  # noqa: E402 - the version must exist before submodules import it
    InputError,
    KnowledgeError,
    LimitExceededError,
    MalformedAppError,
    NotAnAppError,
    TechvetError,
)
from techvet.findings import Evidence, Finding, Severity  # noqa: E402
from techvet.scan import ScanResult, iter_scan, scan  # noqa: E402

__all__ = [
    "Evidence",
    "Finding",
    "InputError",
    "KnowledgeError",
    "LimitExceededError",
    "MalformedAppError",
    "NotAnAppError",
    "ScanResult",
    "Severity",
    "TechvetError",
    "__version__",
    "iter_scan",
    "scan",
]
