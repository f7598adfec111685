"""Bounded reading of Mach-O files: fat and thin, 32- and 64-bit, and static libraries (``ar``).

What an app's binary tells without running it: the architectures it carries, the libraries it
links, whether FairPlay encrypted its code (``LC_ENCRYPTION_INFO`` with a non-zero ``cryptid``),
its code signature (entitlements and signing certificates), the symbols it imports and defines,
and the strings of its C-string sections (``__cstring``, ``__objc_classname``, ``__objc_methname``).

Read by hand, not with LIEF: techvet needs a dozen load commands and a few sections, and LIEF
builds a full object model of every binary (relocations, bindings, every symbol) before it answers;
``bench/scan.py`` measures the two on the same binaries. Every count a file declares (architectures,
load commands, sections, symbols, archive members) is checked against the bytes that are really
there and against a bound before anything is allocated for it, so a header that claims 10,000
architectures or load commands that run past the end is refused in microseconds.
"""

from __future__ import annotations

import bisect
import struct
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING

from techvet.errors import LimitExceededError, MalformedAppError

if TYPE_CHECKING:  # numpy is imported where used: an Android scan never pays its 40 ms
    import numpy as np

FAT_MAGIC = 0xCAFEBABE
FAT_MAGIC_64 = 0xCAFEBABF
_THIN_MAGICS = {
    b"\xce\xfa\xed\xfe": ("<", False),
    b"\xcf\xfa\xed\xfe": ("<", True),
    b"\xfe\xed\xfa\xce": (">", False),
    b"\xfe\xed\xfa\xcf": (">", True),
}
AR_MAGIC = b"!<arch>\n"

MAX_ARCHS = 16  # Apple's tools write at most a handful (armv7, armv7s, arm64, arm64e, x86_64, i386)
MAX_LOAD_COMMANDS = 4096
MAX_SECTIONS = 1024
MAX_SYMBOLS = 2_000_000
MAX_MEMBERS = 20_000  # objects in one static library
MAX_STRINGS = 400_000  # C strings kept per image; the rest are counted, not kept
MAX_STRING = 4096  # characters kept of one string
MAX_SIGNATURE_BLOBS = 64
MAX_NAME_SECTION = 32 * 1024 * 1024  # bytes of a name section (class names, UTF-16 text) read
_CHUNK = 4 * 1024 * 1024  # bytes of a section decoded at once

CPU_NAMES = {
    (7, 3): "i386",
    (0x01000007, 3): "x86_64",
    (12, 9): "armv7",
    (12, 11): "armv7s",
    (12, 12): "armv7k",
    (0x0100000C, 0): "arm64",
    (0x0100000C, 1): "arm64",
    (0x0100000C, 2): "arm64e",
    (0x0200000C, 0): "arm64_32",
}
FILE_TYPES = {1: "object", 2: "executable", 6: "dylib", 8: "bundle", 9: "dylib-stub", 11: "kext"}

LC_SEGMENT, LC_SEGMENT_64 = 0x1, 0x19
LC_SYMTAB = 0x2
_DYLIB_COMMANDS = {0xC: "load", 0x80000018: "weak", 0x8000001F: "reexport", 0x20: "lazy", 0x80000023: "upward"}
LC_ID_DYLIB = 0xD
LC_CODE_SIGNATURE = 0x1D
LC_ENCRYPTION_INFO, LC_ENCRYPTION_INFO_64 = 0x21, 0x2C
LC_VERSION_MIN_IPHONEOS = 0x25
LC_BUILD_VERSION = 0x32
_CSTRING_LITERALS = 0x2  # section type in the low byte of its flags
_NO_FILE_DATA = (0x1, 0xC, 0x12)  # zerofill, GB zerofill, thread-local zerofill: nothing in the file
MAX_SYMBOL_CHARS = 64 * 1024 * 1024  # characters of symbol names kept per image
_N_STAB, _N_TYPE, _N_EXT, _N_UNDF, _N_SECT = 0xE0, 0x0E, 0x01, 0x0, 0xE


@dataclass(frozen=True, slots=True)
class Section:
    segment: str
    name: str
    addr: int
    size: int
    offset: int  # in the slice
    flags: int

    @property
    def is_cstrings(self) -> bool:
        return self.flags & 0xFF == _CSTRING_LITERALS


@dataclass(frozen=True, slots=True)
class Segment:
    name: str
    vmaddr: int
    vmsize: int
    fileoff: int
    filesize: int


@dataclass
class Image:
    """One architecture slice (or one object of a static library), read as facts."""

    arch: str
    file_type: str
    little: str  # struct byte order of the slice
    is64: bool
    data: bytes = field(repr=False)  # the slice's bytes (a view's copy): sections point into it
    segments: list[Segment] = field(default_factory=list)
    sections: list[Section] = field(default_factory=list)
    libraries: list[str] = field(default_factory=list)  # linked dylibs and frameworks, in load order
    install_name: str | None = None
    encrypted: bool = False  # FairPlay: cryptid != 0
    crypt_range: tuple[int, int] | None = None  # (offset, size) in the slice of the encrypted bytes
    min_os: str | None = None
    signature: tuple[int, int] | None = None  # (offset, size) of LC_CODE_SIGNATURE's data
    imports: list[str] = field(default_factory=list)  # undefined external symbols
    defined: list[str] = field(default_factory=list)  # defined external symbols
    notes: list[str] = field(default_factory=list)

    def readable(self, section: Section) -> bool:
        """Whether a section's bytes are plain: inside the file, and outside FairPlay's range."""
        if section.offset == 0 or section.offset + section.size > len(self.data):
            return False
        if self.encrypted and self.crypt_range is not None:
            start, size = self.crypt_range
            if section.offset < start + size and start < section.offset + section.size:
                return False
        return True

    def section(self, segment: str, name: str) -> Section | None:
        return next((s for s in self.sections if s.name == name and s.segment in (segment, "")), None)

    def section_bytes(self, section: Section) -> memoryview:
        """A section's bytes without copying them (empty when absent or encrypted)."""
        if not self.readable(section):
            return memoryview(b"")
        return memoryview(self.data)[section.offset : section.offset + section.size]

    def cstrings(self, segment: str, name: str) -> list[str]:
        """The NUL-separated strings of one section (empty when absent or encrypted)."""
        found = self.section(segment, name)
        return split_cstrings(self.section_bytes(found)) if found is not None else []


@dataclass
class Binary:
    """A Mach-O file as found in the bundle: its architectures and every image read from it.

    Every slice of a fat file is read and their names merged: a device runs the slice of its own
    architecture (arm64e on the newest, arm64 before), so code in any slice is code that runs
    somewhere. A static library is read as all its objects.
    """

    archs: list[str]
    images: list[Image]
    notes: list[str] = field(default_factory=list)

    @property
    def encrypted(self) -> bool:
        return any(i.encrypted for i in self.images)


def split_cstrings(blob: bytes | memoryview, limit: int = MAX_STRINGS) -> list[str]:
    """The first ``limit`` strings of a C-string section, decoded as UTF-8 (malformed bytes
    replaced), each cut at :data:`MAX_STRING` characters.

    Read in chunks that end at a NUL, each decoded once and split after (a NUL never sits inside a
    UTF-8 sequence; one decode per chunk costs a fifth of one per string): a section of a hundred
    million two-byte strings costs what its first ``limit`` do, in time and in memory."""
    out: list[str] = []
    pos, size = 0, len(blob)
    view = memoryview(blob)
    while pos < size and len(out) < limit:
        chunk = bytes(view[pos : pos + _CHUNK])
        if pos + len(chunk) < size:  # end the chunk at its last NUL, so no string is split in two
            cut = chunk.rfind(b"\0")
            chunk = chunk[: cut + 1] if cut >= 0 else chunk
        pos += len(chunk)
        parts = [p for p in chunk.decode("utf-8", "replace").split("\0", limit - len(out)) if p][: limit - len(out)]
        if parts and max(map(len, parts)) > MAX_STRING:  # rare: only then a pass per string
            parts = [p[:MAX_STRING] for p in parts]
        out.extend(parts)
    return out[:limit]


def _name16(raw: bytes) -> str:
    return raw.split(b"\0", 1)[0].decode("ascii", "replace")


def is_macho(head: bytes) -> bool:
    """Whether the first bytes are a Mach-O (thin or fat) or a static library's signature."""
    return head[:4] in _THIN_MAGICS or head[:4] in (b"\xca\xfe\xba\xbe", b"\xca\xfe\xba\xbf") or head[:8] == AR_MAGIC


def read_binary(data: bytes, label: str) -> Binary:
    """Read a fat, thin or static-library file; raises MalformedAppError or LimitExceededError."""
    try:
        return _read_binary(data, label, depth=0)
    except struct.error as exc:  # a short read the explicit checks missed: still damage, said once
        raise MalformedAppError(f"{label}: truncated Mach-O ({exc})") from None


def _read_binary(data: bytes, label: str, depth: int) -> Binary:
    head = data[:8]
    if head[:4] in (b"\xca\xfe\xba\xbe", b"\xca\xfe\xba\xbf"):
        return _read_fat(data, label, depth)
    if head == AR_MAGIC:
        return _read_archive(data, label, depth)
    if head[:4] in _THIN_MAGICS:
        image = read_image(data, label)
        return Binary([image.arch], [image])
    raise MalformedAppError(f"{label}: not a Mach-O file")


def _read_fat(data: bytes, label: str, depth: int) -> Binary:
    if depth > 0:
        raise MalformedAppError(f"{label}: a fat file inside a fat file")
    magic, count = struct.unpack_from(">II", data, 0)
    if count == 0:
        raise MalformedAppError(f"{label}: fat header lists no architecture")
    if count > MAX_ARCHS:
        raise LimitExceededError(f"{label}: fat header claims {count} architectures (bound {MAX_ARCHS})")
    wide = magic == FAT_MAGIC_64
    step = 32 if wide else 20
    if 8 + count * step > len(data):
        raise MalformedAppError(f"{label}: fat header runs past the end of the file")
    slices: list[tuple[str, int, int]] = []
    for i in range(count):
        at = 8 + i * step
        if wide:
            cpu, sub, offset, size = struct.unpack_from(">iiQQ", data, at)
        else:
            cpu, sub, offset, size = struct.unpack_from(">iiII", data, at)
        arch = CPU_NAMES.get((cpu & 0xFFFFFFFF, sub & 0xFFFFFF), f"cpu{cpu & 0xFFFFFFFF}")
        if offset < 8 + count * step or offset + size > len(data) or size == 0:
            raise MalformedAppError(f"{label}: fat slice {arch} lies outside the file")
        slices.append((arch, offset, size))
    archs = [a for a, _, _ in slices]
    images: list[Image] = []
    notes: list[str] = []
    for arch, offset, size in slices:
        inner = _read_binary(data[offset : offset + size], f"{label} ({arch})", depth + 1)
        images.extend(inner.images)
        notes.extend(inner.notes)
    return Binary(archs, images, notes)


def _read_archive(data: bytes, label: str, depth: int) -> Binary:
    """Every Mach-O object of a static library (BSD ``#1/`` long names and GNU names both)."""
    images: list[Image] = []
    notes: list[str] = []
    at = len(AR_MAGIC)
    members = 0
    while at + 60 <= len(data):
        header = data[at : at + 60]
        if header[58:60] != b"`\n":
            raise MalformedAppError(f"{label}: damaged static-library member header at {at}")
        try:
            size = int(header[48:58].decode("ascii").strip() or "0")
        except ValueError:
            raise MalformedAppError(f"{label}: damaged static-library member size at {at}") from None
        name = header[:16].decode("ascii", "replace").strip()
        body_at, end = at + 60, at + 60 + size
        if size < 0 or end > len(data):
            raise MalformedAppError(f"{label}: static-library member {name!r} runs past the end")
        if name.startswith("#1/"):  # BSD: the name's length, and the name in front of the data
            try:
                name_len = int(name[3:])
            except ValueError:
                raise MalformedAppError(f"{label}: damaged static-library member name at {at}") from None
            if name_len > size:
                raise MalformedAppError(f"{label}: static-library member name runs past its data")
            name = data[body_at : body_at + name_len].split(b"\0", 1)[0].decode("utf-8", "replace")
            body_at += name_len
        members += 1
        if members > MAX_MEMBERS:
            raise LimitExceededError(f"{label}: more than {MAX_MEMBERS} members in a static library")
        body = data[body_at:end]
        if body[:4] in _THIN_MAGICS:
            try:
                images.append(read_image(body, f"{label}({name})"))
            except MalformedAppError as exc:  # one damaged object: the others still count
                notes.append(str(exc))
        at = end + (end & 1)
    if not images:
        raise MalformedAppError(f"{label}: static library without a Mach-O object")
    archs = list(dict.fromkeys(i.arch for i in images))
    return Binary(archs, images, notes)


def read_image(data: bytes, label: str) -> Image:
    """One thin Mach-O: its header, load commands, sections and symbol table."""
    order, is64 = _THIN_MAGICS[data[:4]]
    header_size = 32 if is64 else 28
    if len(data) < header_size:
        raise MalformedAppError(f"{label}: Mach-O header is truncated")
    cpu, sub, ftype, ncmds, sizeofcmds = struct.unpack_from(order + "iiIII", data, 4)
    arch = CPU_NAMES.get((cpu & 0xFFFFFFFF, sub & 0xFFFFFF), f"cpu{cpu & 0xFFFFFFFF}")
    if ncmds > MAX_LOAD_COMMANDS:
        raise LimitExceededError(f"{label}: {ncmds} load commands (bound {MAX_LOAD_COMMANDS})")
    if header_size + sizeofcmds > len(data):
        raise MalformedAppError(f"{label}: load commands run past the end of the file")
    image = Image(arch, FILE_TYPES.get(ftype, f"type{ftype}"), order, is64, data)
    at, end = header_size, header_size + sizeofcmds
    symtab: tuple[int, int, int, int] | None = None
    for _ in range(ncmds):
        if at + 8 > end:
            raise MalformedAppError(f"{label}: load commands run past their declared size")
        cmd, size = struct.unpack_from(order + "II", data, at)
        if size < 8 or at + size > end:
            raise MalformedAppError(f"{label}: load command 0x{cmd:x} at {at} has a bad size ({size})")
        body = data[at : at + size]
        if cmd in (LC_SEGMENT, LC_SEGMENT_64):
            _segment(image, body, cmd == LC_SEGMENT_64, label)
        elif cmd in _DYLIB_COMMANDS or cmd == LC_ID_DYLIB:
            name = _lc_string(body, order, label)
            if cmd == LC_ID_DYLIB:
                image.install_name = name
            else:
                image.libraries.append(name)
        elif cmd in (LC_ENCRYPTION_INFO, LC_ENCRYPTION_INFO_64):
            if size < 20:
                raise MalformedAppError(f"{label}: LC_ENCRYPTION_INFO is truncated")
            off, crypt_size, cryptid = struct.unpack_from(order + "III", body, 8)
            image.encrypted = cryptid != 0
            image.crypt_range = (off, crypt_size)
        elif cmd == LC_CODE_SIGNATURE and size >= 16:
            image.signature = struct.unpack_from(order + "II", body, 8)
        elif cmd == LC_SYMTAB and size >= 24:
            symtab = struct.unpack_from(order + "IIII", body, 8)
        elif cmd == LC_VERSION_MIN_IPHONEOS and size >= 12:
            image.min_os = _version(struct.unpack_from(order + "I", body, 8)[0])
        elif cmd == LC_BUILD_VERSION and size >= 16:
            image.min_os = _version(struct.unpack_from(order + "I", body, 12)[0])
        at += size
    if symtab is not None:
        _symbols(image, *symtab, label)
    return image


def _version(packed: int) -> str:
    """``15.0`` or ``12.4.1`` from a packed xxxx.yy.zz version."""
    patch = packed & 0xFF
    return f"{packed >> 16}.{(packed >> 8) & 0xFF}" + (f".{patch}" if patch else "")


def _lc_string(body: bytes, order: str, label: str) -> str:
    (offset,) = struct.unpack_from(order + "I", body, 8)
    if offset < 12 or offset >= len(body):
        raise MalformedAppError(f"{label}: a library name points outside its load command")
    return body[offset:].split(b"\0", 1)[0][:1024].decode("utf-8", "replace")


def _segment(image: Image, body: bytes, wide: bool, label: str) -> None:
    order = image.little
    if wide:
        name, vmaddr, vmsize, fileoff, filesize, _, _, nsects, _ = struct.unpack_from(order + "16sQQQQiiII", body, 8)
        head, step, fmt = 72, 80, "16s16sQQIIIIIII"
    else:
        name, vmaddr, vmsize, fileoff, filesize, _, _, nsects, _ = struct.unpack_from(order + "16sIIIIiiII", body, 8)
        head, step, fmt = 56, 68, "16s16sIIIIIIIII"
    if nsects > MAX_SECTIONS or len(image.sections) + nsects > MAX_SECTIONS:
        raise LimitExceededError(f"{label}: more than {MAX_SECTIONS} sections")
    if head + nsects * step > len(body):
        raise MalformedAppError(f"{label}: segment {_name16(name)!r} lists sections past its load command")
    image.segments.append(Segment(_name16(name), vmaddr, vmsize, fileoff, filesize))
    for i in range(nsects):
        sect, seg, addr, size, offset, _, _, _, flags, *_ = struct.unpack_from(order + fmt, body, head + i * step)
        if flags & 0xFF not in _NO_FILE_DATA and vmaddr <= addr and addr + size <= vmaddr + filesize:
            # where the loader finds it: by its address in the segment, not the offset it declares
            offset = fileoff + addr - vmaddr
        image.sections.append(Section(_name16(seg), _name16(sect), addr, size, offset, flags))


def _symbols(image: Image, symoff: int, nsyms: int, stroff: int, strsize: int, label: str) -> None:
    """Imported (undefined external) and defined external symbol names from LC_SYMTAB."""
    data, order = image.data, image.little
    entry = 16 if image.is64 else 12
    if nsyms > MAX_SYMBOLS:
        raise LimitExceededError(f"{label}: symbol table claims {nsyms} symbols (bound {MAX_SYMBOLS})")
    if symoff + nsyms * entry > len(data) or stroff + strsize > len(data):
        image.notes.append(f"{label}: symbol table runs past the end of the file; symbols not read")
        return
    strings = data[stroff : stroff + strsize]
    fmt = order + ("IBBHQ" if image.is64 else "IBBHI")
    names: dict[int, str] = {}  # by string-table offset: many symbols may share one name
    budget = MAX_SYMBOL_CHARS
    for strx, ntype, _, _, _ in struct.iter_unpack(fmt, data[symoff : symoff + nsyms * entry]):
        if ntype & _N_STAB or not ntype & _N_EXT or strx >= strsize:
            continue
        name = names.get(strx)
        if name is None:
            raw = strings[strx : strx + MAX_STRING]  # never the rest of the table: at most one name
            name = raw.split(b"\0", 1)[0].decode("utf-8", "replace")
            budget -= len(name)
            if budget < 0:
                image.notes.append(f"{label}: symbol names past {MAX_SYMBOL_CHARS} characters not read")
                return
            names[strx] = name
        kind = ntype & _N_TYPE
        if kind == _N_UNDF:
            image.imports.append(name)
        elif kind == _N_SECT:
            image.defined.append(name)


class AddressMap:
    """Virtual addresses of one image to offsets in its bytes, for following Objective-C pointers.

    Pointers in binaries linked for iOS 14 and later are chained fixups: the low 36 bits hold the
    target (an address, or an offset from the image's base) and the high bits the chain; on arm64e
    an authenticated pointer (bit 63) holds a 32-bit offset from the base, and bit 62 marks a bind.
    A pointer that binds to another image is not followed.
    """

    def __init__(self, image: Image) -> None:
        self.image = image
        size = len(image.data)  # a span must lie in 64-bit addresses and start in the file
        spans = sorted(
            (s.vmaddr, s.vmaddr + s.filesize, s.fileoff)
            for s in image.segments
            if s.filesize and s.vmaddr + s.filesize < 1 << 64 and s.fileoff < size
        )
        self.starts = [start for start, _, _ in spans]
        self.spans = spans
        text = next((s for s in image.segments if s.name == "__TEXT"), None)
        self.base = text.vmaddr if text is not None else 0

    def offset(self, addr: int) -> int | None:
        """The file offset of ``addr``: a bisect over the segments (a file may declare thousands)."""
        i = bisect.bisect_right(self.starts, addr) - 1
        if i < 0:
            return None
        start, end, fileoff = self.spans[i]
        if addr >= end:
            return None
        at = fileoff + addr - start
        return at if at < len(self.image.data) else None

    def pointer_target(self, raw: int) -> int | None:
        """The file offset a stored pointer leads to, or None when it leads nowhere readable."""
        if not self.image.is64:
            return self.offset(raw)
        if raw >> 63:
            if self.image.arch != "arm64e" or (raw >> 62) & 1:  # a bind to another image
                return None
            return self.offset(self.base + (raw & 0xFFFF_FFFF))  # arm64e authenticated rebase
        at = self.offset(raw)
        if at is not None:
            return at
        low = raw & 0xF_FFFF_FFFF
        at = self.offset(low)
        return at if at is not None else self.offset(self.base + low)

    def offsets(self, raws: np.ndarray) -> np.ndarray:
        """:meth:`pointer_target` over an array of 64-bit pointers at once: file offsets, -1 where a
        pointer leads nowhere readable."""
        import numpy as np

        raws = raws.astype(np.uint64, copy=False)
        top = (raws >> np.uint64(63)).astype(bool)
        plain = np.where(top, np.uint64(0), raws)
        found = self._map(plain)
        low = plain & np.uint64(0xF_FFFF_FFFF)
        found = np.where(found >= 0, found, self._map(low))
        found = np.where(found >= 0, found, self._map(low + np.uint64(self.base)))
        if self.image.arch == "arm64e":  # authenticated rebases: a 32-bit offset from the base
            auth = top & ~((raws >> np.uint64(62)) & np.uint64(1)).astype(bool)
            rebased = self._map((raws & np.uint64(0xFFFF_FFFF)) + np.uint64(self.base))
            found = np.where(auth, rebased, found)
        return np.where(top & (self.image.arch != "arm64e"), -1, found)

    @cached_property
    def _arrays(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The spans as numpy arrays (starts, ends, file offsets), built once per map."""
        import numpy as np

        starts = np.array([s for s, _, _ in self.spans], dtype=np.uint64)
        ends = np.array([e for _, e, _ in self.spans], dtype=np.uint64)
        return starts, ends, np.array([f for _, _, f in self.spans], dtype=np.int64)

    def _map(self, addrs: np.ndarray) -> np.ndarray:
        import numpy as np

        if not self.spans:
            return np.full(len(addrs), -1, dtype=np.int64)
        starts, ends, fileoffs = self._arrays
        i = np.searchsorted(starts, addrs, side="right") - 1
        j = np.clip(i, 0, None)
        inside = (i >= 0) & (addrs < ends[j]) & (addrs >= starts[j])
        at = fileoffs[j] + (addrs - np.where(inside, starts[j], addrs)).astype(np.int64)
        return np.where(inside & (at < len(self.image.data)), at, -1)

    def cstring_at(self, offset: int) -> str | None:
        data = self.image.data
        end = data.find(b"\0", offset, offset + MAX_STRING)
        if end < 0:
            return None
        return data[offset:end].decode("utf-8", "replace")
