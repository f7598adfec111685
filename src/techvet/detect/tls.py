"""Trust-all TLS: trust managers that check nothing, host name verifiers that accept everything.

Only the methods that matter are decoded: ``checkServerTrusted`` of classes that implement
``X509TrustManager`` and ``verify`` of classes that implement ``HostnameVerifier``.
"""

from __future__ import annotations

import struct

from techvet.app.code import Reference
from techvet.app.dex import Dex, instructions, java_name
from techvet.app.reader import App
from techvet.detect._common import evidence_at
from techvet.findings import Evidence
from techvet.knowledge import Knowledge

_TRUST_MANAGER = "Ljavax/net/ssl/X509TrustManager;"
_EXTENDED_TRUST_MANAGER = "Ljavax/net/ssl/X509ExtendedTrustManager;"
_HOSTNAME_VERIFIER = "Ljavax/net/ssl/HostnameVerifier;"
_ALLOW_ALL = (
    "Lorg/apache/http/conn/ssl/SSLSocketFactory;->ALLOW_ALL_HOSTNAME_VERIFIER",
    "Lorg/apache/http/conn/ssl/AllowAllHostnameVerifier;",
)
# Calls that only log or build messages: a body that makes no others and never throws checks nothing.
_HARMLESS = (
    "Landroid/util/Log;",
    "Ljava/io/PrintStream;",
    "Ljava/lang/StringBuilder;",
    "Ljava/lang/String;",
    "Ljava/lang/Object;",
    "Ljava/lang/Integer;",
    "Ljava/util/Arrays;",
    "Lkotlin/jvm/internal/Intrinsics;",
)
_INVOKES = frozenset([*range(0x6E, 0x73), *range(0x74, 0x79)])


def _checks_nothing(dex: Dex, code: bytes) -> bool:
    for op, pc in instructions(code):
        if op == 0x27:  # throw
            return False
        if op in _INVOKES:
            (midx,) = struct.unpack_from("<H", code, pc + 2)
            cls, _ = dex.method_ref(midx)
            if not cls.startswith(_HARMLESS):
                return False
    return True


def _returns_true(dex: Dex, code: bytes) -> bool:
    saw_return = False
    for op, pc in instructions(code):
        if op == 0x12:  # const/4 vA, #+B
            if code[pc + 1] >> 4 != 1:
                return False
        elif op == 0x0F:
            saw_return = True
        elif op in _INVOKES:
            (midx,) = struct.unpack_from("<H", code, pc + 2)
            cls, _ = dex.method_ref(midx)
            if not cls.startswith(_HARMLESS):
                return False
        elif op not in (0x00, 0x0A, 0x0C, 0x62, 0x1A, 0x22, 0x70):
            return False
    return saw_return


def trust_all_evidence(app: App, kb: Knowledge, refs: dict[str, list[Reference]]) -> tuple[Evidence, ...]:
    out: list[Evidence] = []
    code = app.code
    checks = (
        (
            code.implementers([_TRUST_MANAGER], [_EXTENDED_TRUST_MANAGER]),
            "checkServerTrusted",
            _checks_nothing,
            "checkServerTrusted accepts every certificate",
        ),
        (
            code.implementers([_HOSTNAME_VERIFIER]),
            "verify",
            _returns_true,
            "HostnameVerifier.verify always returns true",
        ),
    )
    for classes, method, accepts_all, detail in checks:
        for cls in classes:
            dex = code.classes[cls][0]
            if any(accepts_all(dex, body) for body in dex.method_code(cls, method)):
                out.append(
                    Evidence(dex.name, detail, class_name=java_name(cls), method=method, sdk=kb.sdk_for_class(cls))
                )
    for key in _ALLOW_ALL:
        for ref in refs.get(key, ()):
            if not ref.class_name.startswith("Lorg/apache/http/"):
                out.append(evidence_at(ref, f"uses {key}", kb))
    return tuple(out[:8])
