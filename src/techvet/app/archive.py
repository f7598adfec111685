"""Bounded, in-memory reading of zip archives (APKs, split bundles, nested jars).

Nothing is ever extracted to disk, so a hostile entry name (``../../etc/passwd``) is only a string.
Every read is bounded: an entry that declares or inflates past :data:`MAX_ENTRY_BYTES`, an entry
whose compression ratio marks a zip bomb, or an app whose reads add up past
:data:`MAX_TOTAL_BYTES` (or whose archives, nested ones included, list more than
:data:`MAX_ENTRIES` entries in all) raises :class:`LimitExceededError`. The sizes a central
directory declares are not trusted: an entry that inflates past its declared size is refused (as
Android's own reader refuses it), the budget is charged for the bytes actually inflated, and
entries whose data overlap (several records pointing at one compressed blob, the trick that turns
a small file into gigabytes) make the archive unreadable.

The central directory is read by hand (one ``struct`` call per entry; ``zipfile`` builds a full
``ZipInfo`` per entry, which costs more than the rest of reading a small app's manifest), zip64
records too (zipfile would read a directory of whatever size a zip64 end record claims), and
entries are inflated with ISA-L. Two tricks Android tolerates are undone, as the platform's own
reader would: the "encrypted" flag (Android ignores it; packers set it to break tools) and a bogus
compression method (read as deflate when the sizes differ, stored when they are equal). Names are
decoded as UTF-8, as Android does.
"""

from __future__ import annotations

import io
import struct
import zipfile
import zlib
from dataclasses import dataclass, field

from techvet.errors import LimitExceededError, MalformedAppError, NotAnAppError

try:  # ISA-L inflates twice as fast as zlib; zlib is the fallback where no wheel exists
    from isal import isal_zlib as _inflater
except ImportError:  # pragma: no cover - every supported platform has an isal wheel
    import zlib as _inflater  # type: ignore[no-redef]

MAX_ENTRY_BYTES = 256 * 1024 * 1024
MAX_TOTAL_BYTES = 512 * 1024 * 1024
MAX_RATIO = 200
MAX_ENTRIES = 200_000  # checked after parsing; before it, the directory's byte size bounds the work
MAX_DIRECTORY_BYTES = 64 * 1024 * 1024
_RATIO_FLOOR = 8 * 1024 * 1024  # small entries may compress very well (zeros, text); bombs are big


@dataclass
class ReadBudget:
    """Bytes still allowed to be inflated, and entries still allowed to be listed, while reading one
    app. Shared by its nested archives and splits, so that many small archives cannot add up to
    what one large one may not (40 nested zips of 64,000 entries each once cost half a minute)."""

    remaining: int = MAX_TOTAL_BYTES
    spent: int = field(default=0)
    entries: int = MAX_ENTRIES

    def check(self, n: int, what: str) -> None:
        """Refuse before inflating when even the declared size does not fit."""
        if n > self.remaining:
            raise LimitExceededError(
                f"{what}: reading it would inflate more than {MAX_TOTAL_BYTES // (1024 * 1024)} MiB in all"
            )

    def take(self, n: int, what: str) -> None:
        """Charge ``n`` bytes actually inflated."""
        self.check(n, what)
        self.remaining -= n
        self.spent += n

    def list_entries(self, n: int, label: str) -> None:
        """Charge ``n`` directory entries."""
        if n > self.entries:
            raise LimitExceededError(f"{label}: more than {MAX_ENTRIES} archive entries in all (nested ones counted)")
        self.entries -= n


@dataclass(slots=True)
class Entry:
    """One central-directory record: what is needed to find and inflate the entry."""

    name: str
    method: int
    flags: int
    compress_size: int
    file_size: int
    header_offset: int


_CD_RECORD = struct.Struct("<4s4x2H4x4x2I3H8xI")  # signature .. local header offset (46 bytes)
_ZIP64_LOCATOR = struct.Struct("<4s4xQ4x")  # signature, offset of the zip64 end record (20 bytes)
_ZIP64_END = struct.Struct("<4s28x3Q")  # signature .. entries, directory size, directory offset (56)
_STORED, _DEFLATED = 0, 8
_LOCAL_HEADER = 30
_FULL32 = 0xFFFFFFFF


def _zip64_end(
    fh: io.BufferedIOBase | io.BytesIO, tail: bytes, tail_start: int, eocd: int
) -> tuple[int, int, int, int] | None:
    """(entries, directory size, directory offset, position of the zip64 end record), or None
    when the archive has no zip64 end record (a plain archive of exactly 65,535 entries)."""
    if eocd < _ZIP64_LOCATOR.size:
        return None
    sig, stated = _ZIP64_LOCATOR.unpack_from(tail, eocd - _ZIP64_LOCATOR.size)
    if sig != b"PK\x06\x07":
        return None
    # the record is where the locator says, or right before it when bytes were glued in front
    locator_at = tail_start + eocd - _ZIP64_LOCATOR.size
    for at in (stated, locator_at - _ZIP64_END.size):
        # the record lies before its locator; a stated offset past it (up to 2**64) is a lie
        if 0 <= at <= locator_at - _ZIP64_END.size:
            fh.seek(at)
            record = fh.read(_ZIP64_END.size)
            if len(record) == _ZIP64_END.size and record[:4] == b"PK\x06\x06":
                _, count, cd_size, cd_offset = _ZIP64_END.unpack(record)
                return count, cd_size, cd_offset, at
    raise zipfile.BadZipFile("zip64 end record not found")


def _zip64_extra(extra: bytes, usize: int, csize: int, offset: int) -> tuple[int, int, int]:
    """The 64-bit sizes and offset of a record whose 32-bit fields are saturated (extra field 1)."""
    pos = 0
    while pos + 4 <= len(extra):
        kind, length = struct.unpack_from("<HH", extra, pos)
        if kind == 1:
            values = extra[pos + 4 : pos + 4 + length]
            k = 0
            out = []
            for value in (usize, csize, offset):
                if value == _FULL32:
                    if k + 8 > len(values):
                        raise zipfile.BadZipFile("truncated zip64 extra field")
                    value = struct.unpack_from("<Q", values, k)[0]
                    k += 8
                out.append(value)
            return out[0], out[1], out[2]
        pos += 4 + length
    raise zipfile.BadZipFile("zip64 sizes missing")


def _read_directory(fh: io.BufferedIOBase | io.BytesIO, label: str, max_entries: int = MAX_ENTRIES) -> list[Entry]:
    """Every central-directory record, zip64 ones included, without zipfile.

    Raises BadZipFile when there is no zip, :class:`LimitExceededError` when the directory (as
    declared, before it is read) or its entries go past the bounds, and :class:`MalformedAppError`
    when entries overlap each other or the directory: every record must own its bytes.
    """
    fh.seek(0, io.SEEK_END)
    size = fh.tell()
    tail_start = max(0, size - 65557)
    fh.seek(tail_start)
    tail = fh.read()
    eocd = tail.rfind(b"PK\x05\x06")
    if eocd < 0 or eocd + 22 > len(tail):
        raise zipfile.BadZipFile("no end of central directory")
    count, cd_size, cd_offset = struct.unpack_from("<H2I", tail, eocd + 10)
    ends_at = tail_start + eocd  # the directory ends where the end record (or the zip64 one) starts
    if count == 0xFFFF or cd_size == _FULL32 or cd_offset == _FULL32:
        zip64 = _zip64_end(fh, tail, tail_start, eocd)
        if zip64 is not None:
            count, cd_size, cd_offset, ends_at = zip64
    # both bounds hold before the directory is read: a zip64 record may claim anything
    if cd_size > MAX_DIRECTORY_BYTES:
        raise LimitExceededError(f"{label}: central directory of {cd_size} bytes is over the bound")
    if count > max_entries and count != 0xFFFF:
        raise LimitExceededError(f"{label}: its {count} archive entries go past the {MAX_ENTRIES} allowed in all")
    # bytes in front of the archive (a stub or signature block glued on) shift every offset
    shift = ends_at - cd_size - cd_offset
    if shift < 0:
        raise zipfile.BadZipFile("central directory offset points past its end")
    cd_start = cd_offset + shift
    fh.seek(cd_start)
    directory = fh.read(cd_size)
    out: list[Entry] = []
    spans: list[tuple[int, int, str]] = []  # (first byte, lowest possible end, name) of each entry
    in_order = True
    last_end = 0
    pos = 0
    while pos + 46 <= len(directory):
        sig, flags, method, csize, usize, name_len, extra_len, comment_len, offset = _CD_RECORD.unpack_from(
            directory, pos
        )
        if sig != b"PK\x01\x02":
            raise zipfile.BadZipFile("bad central directory record")
        name_at = pos + 46
        if csize == _FULL32 or usize == _FULL32 or offset == _FULL32:
            extra_at = name_at + name_len
            usize, csize, offset = _zip64_extra(directory[extra_at : extra_at + extra_len], usize, csize, offset)
        name = directory[name_at : name_at + name_len].decode("utf-8", "replace")
        start = offset + shift
        out.append(Entry(name, method, flags, csize, usize, start))
        # the local header is at least as long as its fixed part and the name: a lower bound of the end
        end = start + _LOCAL_HEADER + name_len + csize
        spans.append((start, end, name))
        if start < last_end:
            in_order = False
        last_end = max(last_end, end)
        pos = name_at + name_len + extra_len + comment_len
        if len(out) > max_entries:
            raise LimitExceededError(f"{label}: more than {MAX_ENTRIES} archive entries in all")
    if not in_order:  # rare in honest archives: sort only then
        spans.sort()
        last_end = 0
        previous = ""
        for start, end, name in spans:
            if start < last_end:
                raise MalformedAppError(
                    f"{label}: entries {previous!r} and {name!r} share bytes (records pointing into one"
                    " another: a zip bomb's trick)"
                )
            last_end, previous = end, name
    if last_end > cd_start:
        raise MalformedAppError(f"{label}: an entry's data runs into the central directory (lying sizes)")
    return out


def _as_android_reads_it(entry: Entry) -> None:
    """Undo the header tricks Android ignores: the encrypted flag and a bogus compression method."""
    entry.flags &= ~0x1
    if entry.method not in (_STORED, _DEFLATED):
        entry.method = _STORED if entry.compress_size == entry.file_size else _DEFLATED


class Archive:
    """A zip archive held in memory or on disk, read entry by entry within a :class:`ReadBudget`."""

    def __init__(self, source: str | bytes, label: str, budget: ReadBudget | None = None) -> None:
        self.label = label
        self.budget = budget or ReadBudget()
        try:
            fileobj = io.BytesIO(source) if isinstance(source, bytes) else open(source, "rb")  # noqa: SIM115
        except OSError as exc:
            raise NotAnAppError(f"{label}: cannot open ({exc.strerror})") from None
        try:
            entries = _read_directory(fileobj, label, self.budget.entries)
            self.budget.list_entries(len(entries), label)
            self._file = fileobj
        except (LimitExceededError, MalformedAppError):
            fileobj.close()
            raise
        except zipfile.BadZipFile:
            fileobj.close()
            raise NotAnAppError(f"{label}: not a zip archive (an APK is a zip file)") from None
        except (OSError, ValueError, EOFError, NotImplementedError, struct.error) as exc:
            fileobj.close()
            raise MalformedAppError(f"{label}: broken zip archive ({exc})") from None
        self._infos: dict[str, Entry] = {}
        for entry in entries:
            self._infos.setdefault(entry.name, entry)  # Android uses the first of duplicates

    def close(self) -> None:
        self._file.close()

    def __enter__(self) -> Archive:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    @property
    def names(self) -> list[str]:
        """Entry names, in archive order, directories left out."""
        return [n for n in self._infos if not n.endswith("/")]

    def __contains__(self, name: str) -> bool:
        return name in self._infos

    def size_of(self, name: str) -> int:
        return self._infos[name].file_size

    def read(self, name: str, limit: int = MAX_ENTRY_BYTES) -> bytes:
        """The inflated bytes of ``name``, refusing bombs, oversize and lying entries.

        The declared size is checked first (a cheap refusal), but it bounds the inflater too:
        an entry that inflates past what it declares is refused, as Android refuses it, so a
        record cannot declare 200 bytes and deliver 128 MiB. The budget is charged what was
        actually inflated.
        """
        info = self._infos.get(name)
        if info is None:
            raise MalformedAppError(f"{self.label}: no entry {name!r}")
        what = f"{self.label}!{name}"
        if info.file_size > limit:
            raise LimitExceededError(
                f"{what}: entry of {info.file_size} bytes is over the {limit // (1024 * 1024)} MiB bound"
            )
        if info.file_size > _RATIO_FLOOR and info.file_size > MAX_RATIO * max(info.compress_size, 1):
            raise LimitExceededError(
                f"{what}: compression ratio {info.file_size // max(info.compress_size, 1)}:1 looks like a zip bomb"
            )
        self.budget.check(info.file_size, what)
        _as_android_reads_it(info)
        try:
            data = self._inflate(info, info.file_size)
        except (zipfile.BadZipFile, OSError, EOFError, ValueError, NotImplementedError, struct.error) as exc:
            raise MalformedAppError(f"{what}: cannot be read ({exc})") from None
        except Exception as exc:  # noqa: BLE001 - zlib.error and friends: damaged input, not a bug
            raise MalformedAppError(f"{what}: damaged compressed data ({exc})") from None
        if len(data) > info.file_size:
            raise MalformedAppError(f"{what}: inflates past the {info.file_size} bytes it declares (a lying entry)")
        self.budget.take(len(data), what)
        return data

    def _inflate(self, info: Entry, cap: int) -> bytes:
        """Read and inflate one entry directly, at most ``cap + 1`` bytes of output.

        Why not ``ZipFile.open``: its inflater is stdlib zlib plus a CRC pass; ISA-L (``isal``)
        inflates the same stream in half the time, and a DEX is most of an app's bytes. The CRC is
        not checked: Android's signature schemes, not the zip CRC, decide whether an app is intact,
        and techvet reads what the device would run.
        """
        fh = self._file
        fh.seek(info.header_offset)
        header = fh.read(30)
        if len(header) < 30 or header[:4] != b"PK\x03\x04":
            raise zipfile.BadZipFile("bad local file header")
        name_len, extra_len = struct.unpack_from("<HH", header, 26)
        fh.seek(info.header_offset + 30 + name_len + extra_len)
        if info.method == _STORED:
            return fh.read(min(info.compress_size, cap + 1))
        # a prefix of the deflate stream inflates to a prefix of the data: enough for a peek
        raw = fh.read(info.compress_size if cap > 4096 else min(info.compress_size, 4096))
        # one byte past the cap tells a lying entry from an honest one; the output buffer is sized
        # to the declared length (a buffer sized to the bound costs a quarter more time)
        # a peek (a few bytes) with the stdlib's inflater: ISA-L's costs 3x more to set up, which
        # dominated an 18 KB app of 57,000 nested entries found by `make fuzz` (2.9 s)
        inflater = _inflater if cap > 4096 else zlib
        return inflater.decompressobj(-15).decompress(raw, cap + 1)

    def peek(self, name: str, n: int = 8) -> bytes:
        """The first ``n`` inflated bytes of ``name`` (to recognise DEX or zip content)."""
        info = self._infos[name]
        _as_android_reads_it(info)
        try:
            return self._inflate(info, n)[:n]
        except Exception:  # noqa: BLE001 - a damaged entry simply is not recognised as code
            return b""
