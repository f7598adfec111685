"""Reading a user's table (CSV, XLSX or JSON) row by row, with bounded memory and per-row errors.

Supplier files (``techvet screen``) and fleet inventories (``techvet fleet``) come as spreadsheets.
:func:`read_table` gives the header and then each row as a dict of cells, or the reason a row
could not be read (a broken CSV line, an entry that is not an object), so one bad row never stops
a 100,000-row file. CSV and XLSX are streamed; JSON is loaded whole, so its size is capped; an XLSX
that would inflate to more than 512 MiB (or 200 times its size) is refused as a zip bomb. Cells
whose bytes were not UTF-8 keep them as surrogates, for the caller to report (:func:`bad_text`).
"""

from __future__ import annotations

import codecs
import csv
import io
import json
import re
import sys
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from techvet.errors import NothingToAnalyseError, TechvetError, refuse_if_larger

MAX_JSON_BYTES = 64 << 20
MAX_JSON_VALUES = 2_000_000  # about 150,000 rows of ten cells: larger inventories come as CSV, which streams
MAX_STDIN_BYTES = 256 << 20
_SAMPLE_BYTES = 64 << 10
_TEXT_SUFFIXES = (".csv", ".tsv", ".txt")
_DELIMITERS = (",", ";", "\t", "|")
_DECLARED_SEPARATOR = re.compile(r"sep=(.)\r?\n")
_UTF8_MULTIBYTE = re.compile(rb"[\xc2-\xdf][\x80-\xbf]|[\xe0-\xef][\x80-\xbf]{2}|[\xf0-\xf4][\x80-\xbf]{3}")
# what spreadsheet exports are written in when not UTF-8: Chinese (GB18030 covers GBK and GB2312),
# Traditional Chinese, Japanese, Korean, Western European and Cyrillic Windows code pages
_ENCODINGS = ("gb18030", "big5", "shift_jis", "euc_kr", "cp1252", "cp1251")
MAX_XLSX_INFLATED = 512 << 20
MAX_XLSX_RATIO = 200


@dataclass(frozen=True)
class Record:
    line: int  # the line (CSV), row (XLSX) or entry number (JSON) a user can find it by
    cells: dict[str, Any] | None  # header -> value; None when the row could not be read
    error: str | None = None


def read_table(path: str, array_key: str) -> tuple[list[str], Iterator[Record]]:
    """The header and the rows of a CSV, XLSX or JSON file, or of CSV on standard input (``-``).
    A JSON file is an array of objects, or an object holding that array under ``array_key``.

    The kind is told by the name (.csv, .tsv, .txt, .xlsx, .json) and otherwise by the content (a
    zip is a workbook, ``[`` or ``{`` starts JSON). A CSV file may use any common delimiter (comma,
    semicolon, tab, bar: European and Chinese spreadsheet exports differ) and encoding (UTF-8,
    UTF-16 with its mark, GB18030/GBK, Big5, Shift-JIS, EUC-KR, Windows-1252, Windows-1251)."""
    if path == "-":
        return _csv("standard input", io.BytesIO(_stdin_bytes()))
    p = Path(path)
    if p.is_dir():
        raise TechvetError(f"{path}: a folder, not a table (give a CSV, XLSX or JSON file)")
    if not p.is_file():
        raise TechvetError(f"{path}: no such file")
    with p.open("rb") as handle:
        head = handle.read(16)
    suffix = p.suffix.lower()
    if suffix == ".xlsx" or (suffix not in _TEXT_SUFFIXES and head.startswith(b"PK\x03\x04")):
        return _xlsx(p)
    if suffix == ".json" or (suffix not in _TEXT_SUFFIXES and head.lstrip(b"\xef\xbb\xbf \t\r\n")[:1] in (b"[", b"{")):
        return _json(p, array_key)
    return _csv(str(path), p.open("rb"))


def source_name(path: str) -> str:
    """How a table or list source is named in a message: ``-`` is standard input."""
    return "standard input" if path == "-" else path


def shown_header(header: list[str]) -> str:
    """A file's first header cells for a one-line message: "'Firmenname', 'Land'" (or "none")."""
    return ", ".join(repr(printable(h)) for h in header[:12]) or "none"


def read_lines(source: str) -> list[str]:
    """The non-empty, non-comment (#) lines of a text file, or of standard input for ``-``: the
    names ``techvet screen --names-from`` screens, the hosts ``techvet whois --from`` attributes."""
    try:
        if source == "-":
            data = _stdin_bytes()
        else:
            with open(source, "rb") as handle:
                data = _bounded(handle, f"{source}: refused: more than {MAX_STDIN_BYTES >> 20} MiB of lines")
    except OSError as exc:
        raise TechvetError(f"{source}: cannot read ({exc.strerror})") from None
    name = source_name(source)
    try:
        text = data.decode(_encoding(name, data[:_SAMPLE_BYTES]), "replace") if data.strip() else ""
    except TechvetError:
        raise TechvetError(f"{name}: not a text file of one input per line (binary content)") from None
    return [line.strip() for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]


_SPREADSHEET_ERROR = re.compile(r"#(REF!|N/A|VALUE!|NAME\?|DIV/0!|NULL!|NUM!|SPILL!|CALC!)$", re.IGNORECASE)
# what a cell holds when it means "we do not know" (casefolded, punctuation as spaces): no name
_PLACEHOLDERS = frozenset(
    {"n a", "na", "none", "null", "nil", "unknown", "unk", "tbd", "tba", "other", "various", "ref", "value", "div 0"}
)


def is_placeholder(text: str | None) -> bool:
    """Whether a cell stands for nothing: empty, no letter of any script ("-", "?", "???", "!!!@@@"),
    a "we do not know" word (n/a, unknown, TBD), a spreadsheet error (#REF!, #N/A), or a name its
    writer doubts ("? (SkyRover)"). Such a cell names no company, maker or model."""
    if not text or text.lstrip().startswith("?") or _SPREADSHEET_ERROR.match(text.strip()):
        return True
    if not any(ch.isalpha() for ch in text):
        return True
    key = " ".join("".join(ch if ch.isalnum() else " " for ch in text.casefold()).split())
    return key in _PLACEHOLDERS


def parse_columns(spec: str | None, fields: set[str] | frozenset[str]) -> dict[str, str]:
    """``--columns name=Firmenname,country=Land`` -> {"name": "Firmenname", "country": "Land"}: the
    header a field is in, for headers techvet does not recognise; FIELD must be one of ``fields``."""
    out: dict[str, str] = {}
    for item in (spec or "").split(","):
        if not item.strip():
            continue
        field_name, sep, header = item.partition("=")
        if not sep or field_name.strip() not in fields:
            raise TechvetError(f"--columns: {item.strip()!r} is not FIELD=HEADER (FIELD: {', '.join(sorted(fields))})")
        out[field_name.strip()] = header.strip()
    return out


def clean(value: Any) -> str:
    """A cell as text fit to print: bytes that were not UTF-8 become U+FFFD."""
    text = "" if value is None else str(value)
    return text.encode("utf-8", "surrogateescape").decode("utf-8", "replace")


def printable(value: Any, limit: int = 40) -> str:
    """A cell or header fit for a one-line error message: control characters and undecodable bytes
    out, long text cut (a binary file's "header" must not fill a terminal with noise)."""
    text = "".join(ch if ch.isprintable() else "?" for ch in clean(value))
    return text if len(text) <= limit else text[: limit - 1] + "…"


def bad_text(text: str) -> bool:
    """Whether a cell held bytes its file's encoding could not decode."""
    return any("\udc80" <= ch <= "\udcff" for ch in text)


def _stdin_bytes() -> bytes:
    return _bounded(sys.stdin.buffer, f"standard input: refused: more than {MAX_STDIN_BYTES >> 20} MiB (give a file)")


def _bounded(handle: BinaryIO, refusal: str) -> bytes:
    """All of ``handle`` up to MAX_STDIN_BYTES, or ``refusal`` as the error: a pipe has no size to
    look at first, so one byte past the bound is read to know it was passed."""
    data = handle.read(MAX_STDIN_BYTES + 1)
    if len(data) > MAX_STDIN_BYTES:
        raise TechvetError(refusal)
    return data


def _encoding(name: str, sample: bytes) -> str:
    """The text encoding of a CSV file, from its first bytes: a byte-order mark, else strict
    UTF-8, else charset-normalizer's best guess among the encodings spreadsheet exports use."""
    if sample.startswith(b"\xef\xbb\xbf"):
        return "utf-8-sig"
    if sample.startswith((b"\xff\xfe", b"\xfe\xff")):
        return "utf-16"
    if b"\0" in sample:
        raise TechvetError(f"{name}: not a CSV, XLSX or JSON file (binary content)")
    # UTF-8 when it decodes, or when its real UTF-8 characters outnumber its stray bytes (a
    # damaged row is reported as that row's error; it does not make the whole file another encoding)
    try:
        codecs.getincrementaldecoder("utf-8")().decode(sample, final=False)  # a cut last character is fine
        return "utf-8"
    except UnicodeDecodeError:
        pass
    characters = len(_UTF8_MULTIBYTE.findall(sample))
    if characters and sample.decode("utf-8", "replace").count("\ufffd") <= characters:
        return "utf-8"
    from charset_normalizer import from_bytes

    best = from_bytes(sample, cp_isolation=list(_ENCODINGS)).best()
    if best is None:
        raise TechvetError(f"{name}: not a CSV, XLSX or JSON file (no known text encoding fits)")
    return str(best.encoding)


def _delimiter(text: str) -> str:
    """The delimiter the header line uses most (outside quotes), comma when none appears."""
    line = next((x for x in text.splitlines() if x.strip()), "")
    unquoted = "".join(part for i, part in enumerate(line.split('"')) if i % 2 == 0)
    counts = {d: unquoted.count(d) for d in _DELIMITERS}
    best = max(_DELIMITERS, key=lambda d: counts[d])  # ties: the earlier, comma first
    return best if counts[best] else ","


def _csv(name: str, raw: BinaryIO) -> tuple[list[str], Iterator[Record]]:
    sample = raw.read(_SAMPLE_BYTES)
    raw.seek(0)
    if not sample.strip():
        raw.close()
        raise TechvetError(f"{name}: empty file")
    try:
        encoding = _encoding(name, sample)
    except TechvetError:
        raw.close()
        raise
    text_sample = sample.decode(encoding, "replace")
    declared = _DECLARED_SEPARATOR.match(text_sample.lstrip("\ufeff"))  # Excel's "sep=;" first line
    delimiter = declared.group(1) if declared else _delimiter(text_sample)
    # surrogateescape: a row with bytes the encoding cannot read is reported, not the whole file refused
    handle = io.TextIOWrapper(raw, encoding=encoding, errors="surrogateescape", newline="")
    reader = csv.reader(handle, delimiter=delimiter)
    try:
        header = next(reader)
        if declared:
            header = next(reader)
    except StopIteration:
        handle.close()
        raise TechvetError(f"{name}: empty file") from None
    except csv.Error as exc:
        handle.close()
        raise TechvetError(f"{name}: not a CSV file ({exc})") from None
    except UnicodeDecodeError as exc:  # UTF-16 cut mid-character: no error handler covers it
        handle.close()
        raise TechvetError(f"{name}: not readable as {encoding} ({exc.reason})") from None

    def rows() -> Iterator[Record]:
        with handle:
            while True:
                try:
                    cells = next(reader)
                except StopIteration:
                    return
                except csv.Error as exc:  # a field over the size limit, a NUL byte ...: skip the row
                    yield Record(reader.line_num, None, f"unreadable CSV row ({exc})")
                    continue
                except UnicodeDecodeError as exc:  # the file ends mid-character (found by make fuzz)
                    yield Record(reader.line_num + 1, None, f"unreadable end of file as {encoding} ({exc.reason})")
                    return
                if any(c.strip() for c in cells):
                    yield Record(reader.line_num, dict(zip(header, cells, strict=False)))

    return header, rows()


def _xlsx(path: Path) -> tuple[list[str], Iterator[Record]]:
    try:
        with zipfile.ZipFile(path) as archive:
            infos = archive.infolist()
    except (zipfile.BadZipFile, OSError) as exc:
        raise TechvetError(f"{path}: not an XLSX file ({exc})") from None
    # an entry name flagged UTF-8 that is not; a corrupt field; a zip version or feature zipfile lacks
    except (UnicodeDecodeError, ValueError, NotImplementedError) as exc:
        raise TechvetError(f"{path}: not an XLSX file (damaged zip directory: {type(exc).__name__})") from None
    inflated = sum(i.file_size for i in infos)
    packed = sum(i.compress_size for i in infos) or 1
    if inflated > MAX_XLSX_INFLATED or (inflated > (8 << 20) and inflated / packed > MAX_XLSX_RATIO):
        raise TechvetError(f"{path}: refused: inflates to {inflated >> 20} MiB (a zip bomb?)")
    from openpyxl import load_workbook

    try:
        book = load_workbook(path, read_only=True, data_only=True)
        sheet_rows = book.worksheets[0].iter_rows(values_only=True)
        header = [str(c) if c is not None else "" for c in next(sheet_rows, ())]
    except Exception as exc:  # noqa: BLE001 - openpyxl raises many kinds for a broken workbook
        raise TechvetError(f"{path}: not a readable XLSX file ({type(exc).__name__})") from None
    if not header:
        book.close()
        raise TechvetError(f"{path}: empty sheet")

    others = [str(sheet.title) for sheet in book.worksheets[1:]]

    def rows() -> Iterator[Record]:
        line = 1
        try:
            while True:
                line += 1
                try:
                    cells = next(sheet_rows, None)
                # the sheet is parsed as it is read, so a damaged part (XML that expat refuses, such
                # as entity expansion past its amplification limit; a corrupt deflate stream) shows
                # here, after the rows before it were given: they stay reported, the rest is one error
                except Exception as exc:  # noqa: BLE001 - openpyxl, expat and zipfile raise many kinds
                    yield Record(
                        line, None, f"sheet unreadable from here on ({type(exc).__name__}: {printable(exc, 80)})"
                    )
                    return
                if cells is None:
                    break
                if any(c is not None and str(c).strip() for c in cells):
                    yield Record(line, dict(zip(header, cells, strict=False)))
        finally:
            book.close()
        for title in others:  # rows nobody looked at must not pass for rows that were clean
            yield Record(0, None, f"sheet {printable(title)!r} not read: techvet reads a workbook's first sheet")

    return header, rows()


def _json(path: Path, array_key: str) -> tuple[list[str], Iterator[Record]]:
    refuse_if_larger(path, MAX_JSON_BYTES, hint=" (use CSV for large files)")
    data = path.read_bytes()
    # Python holds each JSON value in 50 to 200 bytes, so a file of 64 MiB of "[],[],..." once took
    # 1.6 GB and 15 s; commas and openings bound how many values it holds, counted before parsing
    values = data.count(b",") + data.count(b"[") + data.count(b"{")
    if values > MAX_JSON_VALUES:
        raise TechvetError(f"{path}: refused: more than {MAX_JSON_VALUES:,} JSON values (use CSV for large files)")
    try:
        doc = json.loads(data)
    except (ValueError, RecursionError) as exc:
        raise TechvetError(f"{path}: not valid JSON ({exc})") from None
    items = doc.get(array_key) if isinstance(doc, dict) else doc
    if not isinstance(items, list):
        raise TechvetError(f'{path}: expected an array of objects (or {{"{array_key}": [...]}})')
    if not items:
        raise NothingToAnalyseError(f"{path}: no rows (an empty array)")
    header = sorted({str(k) for item in items if isinstance(item, dict) for k in item})

    def rows() -> Iterator[Record]:
        for number, item in enumerate(items, 1):
            if isinstance(item, dict):
                yield Record(number, item)
            else:
                yield Record(number, None, "not an object")

    return header, rows()


__all__ = [
    "Record",
    "shown_header",
    "source_name",
    "bad_text",
    "clean",
    "is_placeholder",
    "parse_columns",
    "printable",
    "read_lines",
    "read_table",
]
