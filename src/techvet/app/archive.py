"""Bounded, in-memory reading of zip archives (APKs, split bundles, nested jars).

Nothing is ever extracted to disk, so a hostile entry name (``../../etc/passwd``) is only a string.
Every read is bounded: an entry that declares or inflates past :data:`MAX_ENTRY_BYTES`, an entry
whose compression ratio marks a zip bomb, or an archive whose reads add up past
:data:`MAX_TOTAL_BYTES` raises :class:`LimitExceededError`.

The central directory is read by hand (one ``struct`` call per entry; ``zipfile`` builds a full
``ZipInfo`` per entry, which costs more than the rest of reading a small app's manifest) and
entries are inflated with ISA-L. ``zipfile`` is the fallback for zip64 archives. Two tricks Android
tolerates are undone, as the platform's own reader would: the "encrypted" flag (Android ignores it;
packers set it to break tools) and a bogus compression method (read as deflate when the sizes
differ, stored when they are equal). Names are decoded as UTF-8, as Android does.
"""

from __future__ import annotations

import io
import struct
import zipfile
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
    """Bytes still allowed to be inflated while reading one app (shared by nested archives)."""

    remaining: int = MAX_TOTAL_BYTES
    spent: int = field(default=0)

    def take(self, n: int, what: str) -> None:
        if n > self.remaining:
            raise LimitExceededError(
                f"{what}: reading it would inflate more than {MAX_TOTAL_BYTES // (1024 * 1024)} MiB in all"
            )
        self.remaining -= n
        self.spent += n


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
_STORED, _DEFLATED = 0, 8


def _read_directory(fh: io.BufferedIOBase | io.BytesIO, label: str) -> list[Entry]:
    """Every central-directory record, without zipfile. Raises BadZipFile when there is no zip."""
    fh.seek(0, io.SEEK_END)
    size = fh.tell()
    tail_start = max(0, size - 65557)
    fh.seek(tail_start)
    tail = fh.read()
    eocd = tail.rfind(b"PK\x05\x06")
    if eocd < 0 or eocd + 22 > len(tail):
        raise zipfile.BadZipFile("no end of central directory")
    entries, cd_size, cd_offset = struct.unpack_from("<H2I", tail, eocd + 10)
    if cd_size > MAX_DIRECTORY_BYTES:
        raise LimitExceededError(f"{label}: central directory of {cd_size} bytes is over the bound")
    if entries == 0xFFFF or cd_offset == 0xFFFFFFFF:
        return _read_directory_zip64(fh)
    # bytes in front of the archive (a stub or signature block glued on) shift every offset
    shift = tail_start + eocd - cd_size - cd_offset
    if shift < 0:
        raise zipfile.BadZipFile("central directory offset points past its end")
    fh.seek(cd_offset + shift)
    directory = fh.read(cd_size)
    out: list[Entry] = []
    pos = 0
    while pos + 46 <= len(directory):
        sig, flags, method, csize, usize, name_len, extra_len, comment_len, offset = _CD_RECORD.unpack_from(
            directory, pos
        )
        if sig != b"PK\x01\x02":
            raise zipfile.BadZipFile("bad central directory record")
        if csize == 0xFFFFFFFF or usize == 0xFFFFFFFF or offset == 0xFFFFFFFF:
            return _read_directory_zip64(fh)
        name = directory[pos + 46 : pos + 46 + name_len].decode("utf-8", "replace")
        out.append(Entry(name, method, flags, csize, usize, offset + shift))
        pos += 46 + name_len + extra_len + comment_len
        if len(out) > MAX_ENTRIES:
            raise LimitExceededError(f"{label}: more than {MAX_ENTRIES} archive entries")
    return out


def _read_directory_zip64(fh: io.BufferedIOBase | io.BytesIO) -> list[Entry]:
    """zip64 archives (entries or offsets past 4 GiB): rare in apps, left to zipfile."""
    fh.seek(0)
    with zipfile.ZipFile(fh) as zf:
        return [
            Entry(i.filename, i.compress_type, i.flag_bits, i.compress_size, i.file_size, i.header_offset)
            for i in zf.infolist()
        ]


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
            entries = _read_directory(fileobj, label)
            self._file = fileobj
        except LimitExceededError:
            fileobj.close()
            raise
        except zipfile.BadZipFile:
            fileobj.close()
            raise NotAnAppError(f"{label}: not a zip archive (an APK is a zip file)") from None
        except (OSError, ValueError, EOFError, NotImplementedError, struct.error) as exc:
            fileobj.close()
            raise MalformedAppError(f"{label}: broken zip archive ({exc})") from None
        if len(entries) > MAX_ENTRIES:
            raise LimitExceededError(f"{label}: more than {MAX_ENTRIES} archive entries")
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
        """The inflated bytes of ``name``, refusing bombs and oversize entries."""
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
        self.budget.take(info.file_size, what)
        _as_android_reads_it(info)
        try:
            data = self._inflate(info, limit)
        except (zipfile.BadZipFile, OSError, EOFError, ValueError, NotImplementedError, struct.error) as exc:
            raise MalformedAppError(f"{what}: cannot be read ({exc})") from None
        except Exception as exc:  # noqa: BLE001 - zlib.error and friends: damaged input, not a bug
            raise MalformedAppError(f"{what}: damaged compressed data ({exc})") from None
        if len(data) > limit:
            raise LimitExceededError(f"{what}: inflates past the {limit // (1024 * 1024)} MiB bound")
        return data

    def _inflate(self, info: Entry, limit: int) -> bytes:
        """Read and inflate one entry directly, at most ``limit + 1`` bytes of output.

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
            return fh.read(min(info.compress_size, limit + 1))
        # a prefix of the deflate stream inflates to a prefix of the data: enough for a peek
        raw = fh.read(info.compress_size if limit > 4096 else min(info.compress_size, 4096))
        inflater = _inflater.decompressobj(-15)
        # sized to the declared length (a buffer sized to the bound costs a quarter more time);
        # an entry that inflates past its declared length goes on, still within the bound
        expected = min(info.file_size, limit) if info.file_size else limit
        data = inflater.decompress(raw, expected + 1)
        if len(data) > expected and inflater.unconsumed_tail and len(data) <= limit:
            data += inflater.decompress(inflater.unconsumed_tail, limit + 1 - len(data))
        return data

    def peek(self, name: str, n: int = 8) -> bytes:
        """The first ``n`` inflated bytes of ``name`` (to recognise DEX or zip content)."""
        info = self._infos[name]
        _as_android_reads_it(info)
        try:
            return self._inflate(info, n)[:n]
        except Exception:  # noqa: BLE001 - a damaged entry simply is not recognised as code
            return b""
