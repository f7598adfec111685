"""Copies of an app that differ only in their zip comment, so each has its own SHA-256 and scans
the same: the synthetic corpora of bench/bulk.py and the dataset tests.

The comment follows the zip's end-of-central-directory record; techvet reads the signer's
certificate but does not verify a signature over the archive, so a copy scans exactly as the
original (its findings, verdict and rows are the same; only its hash and size differ).
"""

from __future__ import annotations

from pathlib import Path

EOCD = b"PK\x05\x06"
EOCD_SIZE = 22


def with_comment(data: bytes, comment: bytes) -> bytes:
    """``data`` (a zip) with its comment replaced by ``comment`` (at most 65,535 bytes)."""
    at = data.rfind(EOCD, max(0, len(data) - EOCD_SIZE - 65_535))
    if at < 0 or len(comment) > 65_535:
        raise ValueError("not a zip, or a comment too long")
    record = bytearray(data[at : at + EOCD_SIZE])
    record[20:22] = len(comment).to_bytes(2, "little")
    return data[:at] + bytes(record) + comment


def write_copies(sources: list[Path], folder: Path, count: int, tag: str = "copy") -> list[Path]:
    """``count`` copies of ``sources`` in turn in ``folder``, each with its own comment."""
    folder.mkdir(parents=True, exist_ok=True)
    contents = [p.read_bytes() for p in sources]
    written = []
    for i in range(count):
        source = sources[i % len(sources)]
        target = folder / f"{i:06d}-{source.stem}{source.suffix}"
        target.write_bytes(with_comment(contents[i % len(contents)], f"{tag} {i}".encode()))
        written.append(target)
    return written
