"""Packed-app fixtures built in the test itself: an APK whose archive holds a packer's files, whose
DEX defines its stub classes and names its strings, and whose manifest names its application class.

Nothing here runs or decrypts anything: a fixture carries the names a packer leaves in a package
(what ``unzip -l``, ``dexdump`` and ``aapt dump xmltree`` show), which is all TV501 reads.
"""

from __future__ import annotations

import re._constants as sre_constants  # the public sre_* aliases are deprecated since 3.11
import re._parser as sre_parse
import zipfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from tests.axml_builder import build_axml
from tests.dex_builder import classes_dex


def packed_apk(
    path: Path,
    files: Iterable[str] = (),
    classes: Iterable[str] = (),
    strings: Iterable[str] = (),
    application: str | None = None,
    package: str = "org.example.packed",
) -> Path:
    """An APK with a manifest (naming ``application`` if given), a ``classes.dex`` that defines
    ``classes`` and holds ``strings``, and an entry of a few bytes for each of ``files``."""
    attrs = {"name": application} if application else {}
    manifest = build_axml(("manifest", {"package": package}, [("application", attrs, [], "")], ""))
    with zipfile.ZipFile(path, "w") as apk:
        apk.writestr("AndroidManifest.xml", manifest)
        apk.writestr("classes.dex", classes_dex(classes, strings))
        for name in dict.fromkeys(files):
            apk.writestr(name, b"\x7fELF packed" if name.endswith(".so") else b"packed payload")
    return path


def example_of(pattern: str) -> str:
    """A shortest name ``pattern`` matches, spelled out from the regex itself (first branch of an
    alternation, fewest repeats, the first allowed character of a class)."""
    return _spell(sre_parse.parse(pattern))


def _spell(tree: Any) -> str:
    out = []
    for op, arg in tree:
        if op is sre_constants.LITERAL:
            out.append(chr(arg))
        elif op is sre_constants.IN:
            out.append(_first_of(arg))
        elif op in (sre_constants.ANY, sre_constants.NOT_LITERAL):
            out.append("x" if op is sre_constants.ANY or arg != ord("x") else "y")
        elif op in (sre_constants.MAX_REPEAT, sre_constants.MIN_REPEAT):
            low, _, sub = arg
            out.append(_spell(sub) * low)
        elif op is sre_constants.SUBPATTERN:
            out.append(_spell(arg[-1]))
        elif op is sre_constants.BRANCH:
            out.append(_spell(arg[1][0]))
        elif op is sre_constants.AT:
            continue
        else:
            raise ValueError(f"cannot spell {op} in a file pattern")
    return "".join(out)


def _first_of(items: Any) -> str:
    negate = any(op is sre_constants.NEGATE for op, _ in items)
    if negate:
        return "x"
    op, arg = items[0]
    if op is sre_constants.LITERAL:
        return chr(arg)
    if op is sre_constants.RANGE:
        return chr(arg[0])
    if op is sre_constants.CATEGORY:
        return "0" if arg is sre_constants.CATEGORY_DIGIT else "a"
    raise ValueError(f"cannot spell {op} in a character class")


def entry_for(pattern: str) -> str:
    """An archive entry name a file signature matches: a library's name under lib/, any other name
    under assets/, a pattern anchored at the path's start as it is."""
    name = example_of(pattern)
    if pattern.startswith("^"):
        return name.rstrip("/") + "/x" if name.endswith("/") else name
    if name.endswith("/"):
        name += "x"
    return f"lib/arm64-v8a/{name}" if name.endswith(".so") and "/" not in name else f"assets/{name}"
