"""Weak cryptography: broken ciphers and modes, and keys or IVs that are constants in the code.

Both look at the method that makes the call (one method body decoded per call site): the cipher's
transformation string is the constant last loaded into the call's argument register, and a
constant key is a string constant turned into bytes, or a constant array, in the same method.
"""

from __future__ import annotations

import re

from techvet.app.code import Reference
from techvet.app.dex import Dex, instructions
from techvet.app.reader import App
from techvet.detect._code_refs import references
from techvet.detect._common import MAX_EVIDENCE, evidence_at, finding
from techvet.detect._flow import string_argument
from techvet.findings import Evidence, Finding
from techvet.knowledge import Knowledge

_CONST_STRING, _CONST_STRING_JUMBO, _FILL_ARRAY_DATA = 0x1A, 0x1B, 0x26
_STRING_BYTES = "Ljava/lang/String;->getBytes"


def _constant_bytes(dex: Dex, code: bytes) -> bool:
    """The method turns a string constant into bytes, or fills an array from constant data."""
    has_string = False
    for op, pc in instructions(code):
        if op in (_CONST_STRING, _CONST_STRING_JUMBO):
            has_string = True
        elif op == _FILL_ARRAY_DATA:
            return True
        elif 0x6E <= op <= 0x78 and op != 0x73 and has_string:
            # instructions() lists only whole instructions, and method_ref() answers an index
            # past the table with no method: a hostile body cannot make this raise
            cls, name = dex.method_ref(code[pc + 2] | (code[pc + 3] << 8))
            if f"{cls}->{name}" == _STRING_BYTES:
                return True
    return False


def _sites(app: App, refs: dict[str, list[Reference]], apis: list[str]) -> list[tuple[Reference, Dex, bytes]]:
    dexes = {d.name: d for d in app.code.dexes}
    out = []
    seen = set()
    for api in apis:
        for ref in refs.get(api, ()):
            if ref.site is None or (ref.dex, ref.site.body) in seen:
                continue
            seen.add((ref.dex, ref.site.body))
            dex = dexes[ref.dex]
            out.append((ref, dex, dex.body(ref.site)))
    return out


def _calls(refs: dict[str, list[Reference]], apis: list[str]) -> list[Reference]:
    return [ref for api in apis for ref in refs.get(api, ())]


def detect(app: App, kb: Knowledge) -> list[Finding]:
    refs = references(app, kb)
    dexes = {d.name: d for d in app.code.dexes}
    out = []
    weak = kb.rules["TV410"]
    pattern = re.compile(weak.match["weak_transformation"])
    evidence: list[Evidence] = []
    for ref in _calls(refs, list(weak.match["invoke"])):
        dex = dexes[ref.dex]
        transformation = string_argument(dex, ref.site, 0) if ref.site else None
        if transformation is not None and pattern.match(transformation):
            evidence.append(evidence_at(ref, f'Cipher.getInstance("{transformation}")', kb))
    if evidence:
        out.append(finding(weak, tuple(evidence[:MAX_EVIDENCE]), subject="weak-cipher"))
    key = kb.rules["TV411"]
    evidence = []
    for ref, dex, code in _sites(app, refs, list(key.match["invoke"])):
        if _constant_bytes(dex, code):
            what = ref.what.split("/")[-1].split(";")[0]
            evidence.append(evidence_at(ref, f"{what} from constant bytes", kb))
    if evidence:
        out.append(finding(key, tuple(evidence[:MAX_EVIDENCE]), subject="hardcoded-key", confidence="firm"))
    return out
