"""A tiny binary-XML writer for tests: documents whose bytes are known exactly."""

from __future__ import annotations

import struct
import zipfile
from pathlib import Path

Node = tuple[str, dict[str, str], list["Node"], str]  # tag, string attributes, children, text


def build_axml(root: Node) -> bytes:
    strings: list[str] = []

    def index(s: str) -> int:
        if s not in strings:
            strings.append(s)
        return strings.index(s)

    chunks: list[bytes] = []

    def emit(node: Node) -> None:
        tag, attrs, children, text = node
        name = index(tag)
        attr_bytes = b"".join(
            struct.pack("<IIIHBBI", 0xFFFFFFFF, index(k), index(v), 8, 0, 0x03, index(v)) for k, v in attrs.items()
        )
        ext = struct.pack("<IIHHHHHH", 0xFFFFFFFF, name, 20, 20, len(attrs), 0, 0, 0)
        body = ext + attr_bytes
        chunks.append(struct.pack("<HHIII", 0x0102, 16, 16 + len(body), 1, 0xFFFFFFFF) + body)
        if text:
            data = struct.pack("<IHBBI", index(text), 8, 0, 0x03, 0)
            chunks.append(struct.pack("<HHIII", 0x0104, 16, 16 + len(data), 1, 0xFFFFFFFF) + data)
        for child in children:
            emit(child)
        chunks.append(struct.pack("<HHIII", 0x0103, 16, 24, 1, 0xFFFFFFFF) + struct.pack("<II", 0xFFFFFFFF, name))

    emit(root)
    encoded = [s.encode("utf-16-le") for s in strings]
    offsets, data = [], b""
    for e in encoded:
        offsets.append(len(data))
        data += struct.pack("<H", len(e) // 2) + e + b"\x00\x00"
    data += b"\x00" * (-len(data) % 4)
    header_size = 28
    strings_start = header_size + 4 * len(strings)
    pool = (
        struct.pack("<HHIIIIII", 0x0001, header_size, strings_start + len(data), len(strings), 0, 0, strings_start, 0)
        + struct.pack(f"<{len(offsets)}I", *offsets)
        + data
    )
    body = pool + b"".join(chunks)
    return struct.pack("<HHI", 0x0003, 8, 8 + len(body)) + body


def manifest_only_apk(path: Path, package: str, label: str | None = None) -> Path:
    """An app that is only a manifest: a package name and, if given, an application label."""
    attributes = {"label": label} if label is not None else {}
    manifest = build_axml(("manifest", {"package": package}, [("application", attributes, [], "")], ""))
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("AndroidManifest.xml", manifest)
    return path
