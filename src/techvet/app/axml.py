"""Binary Android XML (AXML) to a small element tree, with bounds.

Why not apkInspector or androguard here: apkInspector renders the manifest to text and leaves
attributes whose name string was stripped as ``Unknown_Attribute_Name_N`` (DexGuard and packers strip
them; the Android runtime reads attributes by resource id), and androguard's AXML parser pulls in
its whole import tree, which costs more start-up time than the whole parse. This parser resolves
framework attribute ids, refuses nesting deeper than :data:`MAX_DEPTH`, element counts above
:data:`MAX_ELEMENTS` and attribute counts above :data:`MAX_ATTRIBUTES`, decodes only the strings
it is asked for (within a total bound: see :class:`StringPool`), and never recurses.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

from techvet.errors import LimitExceededError, MalformedAppError

MAX_DEPTH = 128
MAX_ELEMENTS = 200_000
MAX_STRINGS = 1_000_000
# Attribute records are read at the stride the element declares, as the platform reads them; a
# stride of one byte turns a 16 MB document into 16 million overlapping records without this.
# 200,000: ten times a very large real manifest (thousands of components, a dozen attributes each);
# at 1,000,000 a 1,904-byte APK found by `make fuzz` (a 1 MB manifest deflated 700:1) took 1.2 s.
MAX_ATTRIBUTES = 200_000
_POOL_SLACK = 64 * 1024  # characters a pool may decode beyond its own size (see StringPool.get)

_RES_XML_TYPE = 0x0003
_RES_STRING_POOL_TYPE = 0x0001
_RES_XML_RESOURCE_MAP_TYPE = 0x0180
_RES_XML_START_ELEMENT_TYPE = 0x0102
_RES_XML_END_ELEMENT_TYPE = 0x0103
_RES_XML_CDATA_TYPE = 0x0104

# Framework attribute resource ids (android.R.attr) that the manifest readers use; the runtime
# looks attributes up by these ids, so an obfuscator that blanks the name strings changes nothing.
ANDROID_ATTRS: dict[int, str] = {
    0x01010000: "theme",
    0x01010001: "label",
    0x01010002: "icon",
    0x01010003: "name",
    0x01010006: "permission",
    0x01010009: "protectionLevel",
    0x0101000E: "enabled",
    0x0101000F: "debuggable",
    0x01010010: "exported",
    0x01010011: "process",
    0x01010018: "authorities",
    0x0101001B: "grantUriPermissions",
    0x0101001C: "priority",
    0x0101001D: "launchMode",
    0x01010007: "readPermission",
    0x01010008: "writePermission",
    0x01010024: "value",
    0x01010025: "resource",
    0x01010026: "mimeType",
    0x01010027: "scheme",
    0x01010028: "host",
    0x01010029: "port",
    0x0101002A: "path",
    0x0101002B: "pathPrefix",
    0x0101002C: "pathPattern",
    0x0101020C: "minSdkVersion",
    0x0101021B: "versionCode",
    0x0101021C: "versionName",
    0x01010270: "targetSdkVersion",
    0x01010271: "maxSdkVersion",
    0x01010280: "allowBackup",
    0x010102B7: "installLocation",
    0x010103AF: "supportsRtl",
    0x010104EC: "usesCleartextTraffic",
    0x01010527: "networkSecurityConfig",
    0x01010572: "compileSdkVersion",
    0x01010573: "compileSdkVersionCodename",
    0x01010013: "multiprocess",
    0x0101057A: "appComponentFactory",
    0x01010202: "targetActivity",
}

ANDROID_NS = "http://schemas.android.com/apk/res/android"


@dataclass(slots=True)
class Element:
    """One XML element: tag, attributes by local name (values typed: str, int, bool), children."""

    tag: str
    attrs: dict[str, str | int | bool] = field(default_factory=dict)
    children: list[Element] = field(default_factory=list)
    text: str = ""  # character data (a network security config names its domains this way)

    def find(self, tag: str) -> Element | None:
        """The first direct child with ``tag``."""
        for child in self.children:
            if child.tag == tag:
                return child
        return None


class StringPool:
    """A ResStringPool chunk (AXML and resources.arsc), decoding one string at a time on demand.

    Why lazily and within a bound: a pool's offsets may all point at one 4 MB string, or into the
    middle of one another, so decoding every entry up front turned an 8 KB app into 1.9 GB.
    Strings are decoded when asked for, once per offset, and the characters decoded in all may not
    exceed the pool's own size (an honest pool stores each string once, so it never does).
    """

    def __init__(self, data: bytes, start: int) -> None:
        header_size, chunk_size, count, _styles, flags, strings_start = struct.unpack_from("<HIIIII", data, start + 2)
        self.end = start + chunk_size
        if count > MAX_STRINGS or self.end > len(data) or start + header_size + 4 * count > self.end:
            raise MalformedAppError("AXML: string pool is larger than its chunk")
        self.data = data
        self.utf8 = bool(flags & 0x100)
        at = start + header_size
        self.offsets = memoryview(data)[at : at + 4 * count].cast("I")
        self.base = start + strings_start
        self._decoded: dict[int, str] = {}
        self._allowance = chunk_size + _POOL_SLACK

    @classmethod
    def empty(cls) -> StringPool:
        """A pool with no strings (for a document that has none)."""
        return cls(struct.pack("<HHIIIIIxxxx", _RES_STRING_POOL_TYPE, 28, 28, 0, 0, 0, 28), 0)

    def __len__(self) -> int:
        return len(self.offsets)

    def get(self, idx: int) -> str:
        """String ``idx``; a damaged entry reads as empty, as the platform's lenient reader does.

        Raises :class:`LimitExceededError` when the strings asked for decode to more characters
        than the pool holds bytes: its entries overlap, which only a crafted file does.
        """
        if not 0 <= idx < len(self.offsets):
            return ""
        pos = self.base + self.offsets[idx]
        value = self._decoded.get(pos)
        if value is None:
            value = self._decode(pos)
            self._allowance -= len(value)
            if self._allowance < 0:
                raise LimitExceededError("string pool: its strings overlap and decode to more than the pool holds")
            self._decoded[pos] = value
        return value

    def _decode(self, pos: int) -> str:
        data, end = self.data, self.end
        if pos >= end:
            return ""
        try:
            if self.utf8:
                pos += 2 if data[pos] & 0x80 else 1  # UTF-16 length, unused
                n = data[pos]
                if n & 0x80:
                    n = ((n & 0x7F) << 8) | data[pos + 1]
                    pos += 2
                else:
                    pos += 1
                return data[pos : min(pos + n, end)].decode("utf-8", "replace")
            (n,) = struct.unpack_from("<H", data, pos)
            pos += 2
            if n & 0x8000:
                (low,) = struct.unpack_from("<H", data, pos)
                n = ((n & 0x7FFF) << 16) | low
                pos += 2
            return data[pos : min(pos + 2 * n, end)].decode("utf-16-le", "replace")
        except (IndexError, struct.error):
            return ""


def _typed_value(data_type: int, value: int, raw: int, strings: StringPool) -> str | int | bool:
    if data_type == 0x03:
        return strings.get(value if value < len(strings) else raw)
    if data_type == 0x12:
        return value != 0
    if data_type in (0x10, 0x11):
        return value - (1 << 32) if value & 0x80000000 and data_type == 0x10 else value
    if data_type == 0x01:
        return f"@0x{value:08x}"
    if data_type == 0x02:
        return f"?0x{value:08x}"
    if 0 <= raw < len(strings):
        return strings.get(raw)
    return value


def parse_axml(data: bytes) -> Element:
    """Parse a binary XML document into its root :class:`Element`.

    Raises :class:`MalformedAppError` for anything that is not AXML and
    :class:`LimitExceededError` for nesting or size beyond the bounds.
    """
    if len(data) < 8:
        raise MalformedAppError("AXML: file too short")
    chunk_type, header_size, total = struct.unpack_from("<HHI", data, 0)
    if chunk_type != _RES_XML_TYPE and chunk_type != 0:
        raise MalformedAppError("AXML: not a binary XML document")
    end = min(total, len(data)) if total >= 8 else len(data)
    pos = header_size if 8 <= header_size < end else 8
    strings = StringPool.empty()
    resource_ids: list[int] = []
    root: Element | None = None
    stack: list[Element] = []
    elements = attributes = 0
    try:
        while pos + 8 <= end:
            ctype, chead, csize = struct.unpack_from("<HHI", data, pos)
            if csize < 8 or pos + csize > end:
                break  # the runtime stops at a broken chunk as well; keep what was read
            if ctype == _RES_STRING_POOL_TYPE and not len(strings):
                strings = StringPool(data, pos)
            elif ctype == _RES_XML_RESOURCE_MAP_TYPE:
                n = (csize - chead) // 4
                resource_ids = list(struct.unpack_from(f"<{n}I", data, pos + chead))
            elif ctype == _RES_XML_START_ELEMENT_TYPE:
                elements += 1
                if elements > MAX_ELEMENTS:
                    raise LimitExceededError(f"AXML: more than {MAX_ELEMENTS} elements")
                if len(stack) >= MAX_DEPTH:
                    raise LimitExceededError(f"AXML: elements nested deeper than {MAX_DEPTH} levels")
                ext = pos + chead
                _ns, name_idx, attr_start, attr_size, attr_count = struct.unpack_from("<IIHHH", data, ext)
                el = Element(strings.get(name_idx))
                apos = ext + attr_start
                attributes += attr_count
                if attributes > MAX_ATTRIBUTES:
                    raise LimitExceededError(f"AXML: more than {MAX_ATTRIBUTES} attributes")
                for _ in range(attr_count):
                    if apos + 20 > pos + csize:
                        break
                    _ans, aname, raw, _sz, _r0, dtype, value = struct.unpack_from("<IIIHBBI", data, apos)
                    apos += attr_size or 20
                    key = ""
                    if aname < len(resource_ids) and resource_ids[aname] in ANDROID_ATTRS:
                        key = ANDROID_ATTRS[resource_ids[aname]]
                    else:
                        key = strings.get(aname)
                    if key:
                        el.attrs[key] = _typed_value(dtype, value, raw, strings)
                if stack:
                    stack[-1].children.append(el)
                elif root is None:
                    root = el
                stack.append(el)
            elif ctype == _RES_XML_END_ELEMENT_TYPE and stack:
                stack.pop()
            elif ctype == _RES_XML_CDATA_TYPE and stack:
                (data_idx,) = struct.unpack_from("<I", data, pos + chead)
                stack[-1].text += strings.get(data_idx)
            pos += csize
    except struct.error as exc:
        raise MalformedAppError(f"AXML: truncated chunk ({exc})") from None
    if root is None:
        raise MalformedAppError("AXML: document has no elements")
    return root
