"""Helpers shared by the iOS detectors: which catalogue SDK ships each binary of the app."""

from __future__ import annotations

from techvet.app.reader import App
from techvet.ios.reader import IosBinary
from techvet.knowledge import Knowledge

_CACHE_KEY = "ios_binary_sdks"


def binary_name(binary: IosBinary) -> str:
    """A binary's name as the catalogue lists frameworks: casefolded, without a library suffix."""
    return binary.name.removesuffix(".dylib").removesuffix(".a").casefold()


def binary_sdks(app: App, kb: Knowledge) -> dict[str, str]:
    """Binary path -> the catalogue SDK that ships it (frameworks and dylibs known by name), once per
    app: the SDK, behaviour and host detectors all credit evidence in a framework to its SDK."""
    cached = app.cache.get(_CACHE_KEY)
    if isinstance(cached, dict):
        return cached
    frameworks = kb.ios_sdk_index.frameworks
    out = {}
    if app.ios is not None:
        for binary in app.ios.binaries:
            sdk_id = frameworks.get(binary_name(binary)) if binary.role != "main" else None
            if sdk_id is not None:
                out[binary.path] = sdk_id
    app.cache[_CACHE_KEY] = out
    return out
