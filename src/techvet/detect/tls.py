"""Trust-all TLS: trust managers that check nothing, host name verifiers that accept everything.

Only the methods that matter are decoded: ``checkServerTrusted`` of the classes that implement a
trust manager and ``verify`` of the classes that implement a host name verifier, as the rule's data
names them. A body that never throws and calls nothing but logging and string building checks
nothing; a verifier whose only constant is 1 (true) accepts every host.
"""

from __future__ import annotations

import struct
from collections.abc import Callable

from techvet.app.dex import Dex, instructions, java_name
from techvet.app.reader import App
from techvet.findings import Evidence
from techvet.knowledge import Knowledge, Rule

_INVOKES = frozenset([*range(0x6E, 0x73), *range(0x74, 0x79)])
_THROW, _CONST_4, _RETURN = 0x27, 0x12, 0x0F
# nop, move-result(-object), sget-object (System.out), const-string, new-instance, invoke-direct
_NEUTRAL = frozenset({0x00, 0x0A, 0x0C, 0x62, 0x1A, 0x22, 0x70})


def _calls_only(dex: Dex, code: bytes, pc: int, harmless: tuple[str, ...]) -> bool:
    (midx,) = struct.unpack_from("<H", code, pc + 2)
    return dex.method_ref(midx)[0].startswith(harmless)


def _checks_nothing(dex: Dex, code: bytes, harmless: tuple[str, ...]) -> bool:
    for op, pc in instructions(code):
        if op == _THROW or (op in _INVOKES and not _calls_only(dex, code, pc, harmless)):
            return False
    return True


def _returns_true(dex: Dex, code: bytes, harmless: tuple[str, ...]) -> bool:
    saw_return = False
    for op, pc in instructions(code):
        if op == _CONST_4:
            if code[pc + 1] >> 4 != 1:
                return False
        elif op == _RETURN:
            saw_return = True
        elif op in _INVOKES:
            if not _calls_only(dex, code, pc, harmless):
                return False
        elif op not in _NEUTRAL:
            return False
    return saw_return


_INVOKE_STATIC = frozenset({0x71, 0x77})
_MAX_DELEGATION = 3


def _delegate(dex: Dex, code: bytes) -> tuple[str, str] | None:
    """The static method a body only forwards to (javac and D8 compile lambdas this way), or None.

    A forwarding body is one static call, an optional move-result and a return, nothing else.
    """
    ops = [(op, pc) for op, pc in instructions(code) if op != 0x00]
    shapes = [op for op, _ in ops]
    if len(ops) not in (2, 3) or shapes[0] not in _INVOKE_STATIC or shapes[-1] not in (0x0E, 0x0F, 0x10, 0x11):
        return None
    if len(ops) == 3 and shapes[1] not in (0x0A, 0x0B, 0x0C):
        return None
    (midx,) = struct.unpack_from("<H", code, ops[0][1] + 2)
    return dex.method_ref(midx)


def _accepts_all(
    app: App, dex: Dex, code: bytes, check: Callable[[Dex, bytes, tuple[str, ...]], bool], harmless: tuple[str, ...]
) -> bool:
    """``check`` on the body, following up to three forwarding hops into static helpers of the app."""
    for _ in range(_MAX_DELEGATION + 1):
        target = _delegate(dex, code)
        if target is None:
            return check(dex, code, harmless)
        owner = app.code.classes.get(target[0])
        if owner is None:
            return False
        bodies = owner[0].method_code(*target)
        if len(bodies) != 1:
            return False  # overloads: which one runs is not known without the signature
        dex, code = owner[0], bodies[0]
    return False


def trust_all_evidence(app: App, kb: Knowledge, rule: Rule) -> list[Evidence]:
    """Classes whose trust manager or host name verifier accepts everything."""
    config = rule.match["trust_all"]
    harmless = tuple(config.get("harmless_calls", ()))
    code = app.code
    checks: list[tuple[dict[str, list[str]], Callable[[Dex, bytes, tuple[str, ...]], bool], str]] = [
        (config["trust_managers"], _checks_nothing, "accepts every certificate"),
        (config["hostname_verifiers"], _returns_true, "always returns true"),
    ]
    out: list[Evidence] = []
    for kind, accepts_all, what in checks:
        method = str(kind["method"])
        for cls in code.implementers(kind.get("interfaces", ()), kind.get("superclasses", ())):
            dex = code.classes[cls][0]
            if any(_accepts_all(app, dex, body, accepts_all, harmless) for body in dex.method_code(cls, method)):
                out.append(
                    Evidence(
                        dex.name,
                        f"{method} {what}",
                        class_name=java_name(cls),
                        method=method,
                        sdk=kb.sdk_for_class(cls),
                    )
                )
    return out
