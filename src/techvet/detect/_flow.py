"""Look around one call: the constant an argument register holds, and what else the method does.

Some capabilities depend on how an API is called, not only on the call: ``createPackageContext``
loads code only with the CONTEXT_INCLUDE_CODE flag, and ``queryIntentActivities`` lists installed
apps only when asked for every launcher activity. These checks decode the one method that holds
the call, in a single forward pass, and track constants linearly (no branches): a flag set on one
path only still counts, a flag that comes from elsewhere (a parameter, a field) does not.
"""

from __future__ import annotations

import struct

from techvet.app.dex import CodeSite, Dex, instructions

_INVOKE_35C = range(0x6E, 0x73)
_INVOKE_3RC = range(0x74, 0x79)


def _argument_registers(code: bytes, at: int) -> list[int]:
    op = code[at]
    if op in _INVOKE_35C:
        count = code[at + 1] >> 4
        c_to_f = code[at + 4], code[at + 5]
        regs = [c_to_f[0] & 0xF, c_to_f[0] >> 4, c_to_f[1] & 0xF, c_to_f[1] >> 4, code[at + 1] & 0xF]
        return regs[:count]
    if op in _INVOKE_3RC:
        (first,) = struct.unpack_from("<H", code, at + 4)
        return list(range(first, first + code[at + 1]))
    return []


def _last_constant(dex: Dex, site: CodeSite, arg: int) -> int | str | None:
    """The constant (number or string) last loaded into argument ``arg`` (0 is ``this`` for an
    instance call) before the call at ``site``; None when something else wrote the register last."""
    code = dex.body(site)
    at = site.offset - site.body
    regs = _argument_registers(code, at)
    if arg >= len(regs):
        return None
    reg = regs[arg]
    value: int | str | None = None
    for op, pc in instructions(code):
        if pc >= at:
            break
        if op == 0x12:  # const/4 vA, #+B (register in the low nibble)
            if code[pc + 1] & 0xF == reg:
                nibble = code[pc + 1] >> 4
                value = nibble - 16 if nibble & 0x8 else nibble
        elif op in (0x01, 0x04, 0x07):  # move vA, vB (12x)
            if code[pc + 1] & 0xF == reg:
                value = None
        elif code[pc + 1] != reg:
            continue
        elif op in (0x13, 0x15):  # const/16, const/high16
            (lit,) = struct.unpack_from("<h", code, pc + 2)
            value = lit << 16 if op == 0x15 else lit
        elif op == 0x14:  # const vAA, #+BBBBBBBB
            (value,) = struct.unpack_from("<i", code, pc + 2)
        elif op in (0x1A, 0x1B):  # const-string(/jumbo) vAA
            (sidx,) = struct.unpack_from("<H" if op == 0x1A else "<I", code, pc + 2)
            value = dex.string(sidx)
        elif op in (0x02, 0x05, 0x08, 0x0A, 0x0B, 0x0C, 0x0D) or 0x16 <= op <= 0x1C:
            value = None  # move/from16, move-result*, move-exception, wide and class constants
    return value


def const_argument(dex: Dex, site: CodeSite, arg: int) -> int | None:
    """The number last loaded into argument ``arg`` before the call at ``site``, if any."""
    value = _last_constant(dex, site, arg)
    return value if isinstance(value, int) else None


def string_argument(dex: Dex, site: CodeSite, arg: int) -> str | None:
    """The string constant last loaded into argument ``arg`` before the call at ``site``, if any."""
    value = _last_constant(dex, site, arg)
    return value if isinstance(value, str) else None


def method_context(
    dex: Dex, site: CodeSite, has_string: str | None, lacks_invoke: tuple[str, ...], lacks_init: tuple[str, ...]
) -> bool:
    """Whether the method holding ``site`` loads ``has_string`` (when given) and calls none of the
    excluded APIs."""
    code = dex.body(site)
    wanted = dex.find_string(has_string) if has_string is not None else None
    if has_string is not None and wanted is None:
        return False
    seen = has_string is None
    for op, pc in instructions(code):
        if op == 0x1A and struct.unpack_from("<H", code, pc + 2)[0] == wanted:
            seen = True
        elif op == 0x1B and struct.unpack_from("<I", code, pc + 2)[0] == wanted:
            seen = True
        elif op in _INVOKE_35C or op in _INVOKE_3RC:
            (midx,) = struct.unpack_from("<H", code, pc + 2)
            cls, name = dex.method_ref(midx)
            if f"{cls}->{name}" in lacks_invoke:
                return False
            if name == "<init>" and lacks_init and f"{cls}-><init>({''.join(dex.method_params(midx))})" in lacks_init:
                return False
    return seen


def method_loads_string(dex: Dex, site: CodeSite, texts: tuple[str, ...]) -> bool:
    """Whether the method holding ``site`` loads any of ``texts`` as a string constant.

    A library's own log tags survive R8's renaming, so they recognise its methods when the class
    names no longer do.
    """
    wanted = {i for i in (dex.find_string(t) for t in texts) if i is not None}
    if not wanted:
        return False
    code = dex.body(site)
    for op, pc in instructions(code):
        if op == 0x1A and struct.unpack_from("<H", code, pc + 2)[0] in wanted:
            return True
        if op == 0x1B and struct.unpack_from("<I", code, pc + 2)[0] in wanted:
            return True
    return False
