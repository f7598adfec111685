"""Signing certificates of an APK: JAR signature (v1) and APK Signature Scheme v2/v3 blocks.

The v2/v3 signing block is a short length-prefixed structure in front of the zip central directory;
it is read by hand (a few dozen lines) because the libraries that parse it (androguard's APK,
apksigcopier) first parse the whole APK. Certificates themselves are DER X.509 and PKCS#7, decoded
with ``asn1crypto``, a small pure-Python ASN.1 library that imports in milliseconds. Signatures are
reported, not verified: techvet says who signed, not whether the app is intact.
"""

from __future__ import annotations

import hashlib
import io
import struct
from dataclasses import dataclass
from itertools import islice
from typing import BinaryIO

_SIG_BLOCK_MAGIC = b"APK Sig Block 42"
_SCHEMES = {0x7109871A: "v2", 0xF05368C0: "v3", 0x1B93AD61: "v3.1"}
_MAX_CERTS = 64
_MAX_BLOCK = 64 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class Certificate:
    """One signing certificate as a person would compare it with ``apksigner verify --print-certs``."""

    subject: str
    issuer: str
    sha256: str
    not_before: str
    not_after: str
    schemes: tuple[str, ...]
    sha1: str = ""  # what stalkerware indicators name a certificate by (apksigner prints both)


def _describe(der: bytes, schemes: tuple[str, ...]) -> Certificate | None:
    from asn1crypto import x509  # imported here: only apps that carry certificates pay for it

    try:
        cert = x509.Certificate.load(der)
        tbs = cert["tbs_certificate"]
        validity = tbs["validity"]
        return Certificate(
            subject=tbs["subject"].human_friendly,
            issuer=tbs["issuer"].human_friendly,
            sha256=hashlib.sha256(der).hexdigest(),
            not_before=validity["not_before"].native.isoformat(),
            not_after=validity["not_after"].native.isoformat(),
            schemes=schemes,
            sha1=hashlib.sha1(der).hexdigest(),
        )
    except Exception:  # noqa: BLE001 - asn1crypto raises many types on hostile DER; skip the cert
        return None


def _length_prefixed(data: bytes, pos: int, end: int) -> tuple[bytes, int]:
    if pos + 4 > end:
        raise ValueError("truncated")
    (n,) = struct.unpack_from("<I", data, pos)
    if pos + 4 + n > end:
        raise ValueError("truncated")
    return data[pos + 4 : pos + 4 + n], pos + 4 + n


def _sequence(blob: bytes) -> list[bytes]:
    out: list[bytes] = []
    pos = 0
    while pos < len(blob) and len(out) < _MAX_CERTS:
        item, pos = _length_prefixed(blob, pos, len(blob))
        out.append(item)
    return out


def signing_block_certificates(fh: BinaryIO) -> dict[str, list[bytes]]:
    """DER certificates per scheme (``v2``, ``v3``, ``v3.1``) from the APK Signing Block.

    Reads only the end of the file (to find the central directory) and the block itself.
    """
    fh.seek(0, io.SEEK_END)
    size = fh.tell()
    tail_len = min(size, 65557)
    fh.seek(size - tail_len)
    tail = fh.read(tail_len)
    eocd = tail.rfind(b"PK\x05\x06")
    if eocd < 0 or eocd + 20 > len(tail):
        return {}
    (cd_offset,) = struct.unpack_from("<I", tail, eocd + 16)
    if cd_offset < 24 or cd_offset > size:
        return {}
    fh.seek(cd_offset - 24)
    head = fh.read(24)
    if len(head) < 24 or head[8:] != _SIG_BLOCK_MAGIC:
        return {}
    (block_size,) = struct.unpack_from("<Q", head, 0)
    start = cd_offset - block_size - 8
    if start < 0 or block_size > _MAX_BLOCK:
        return {}
    fh.seek(start)
    apk = fh.read(block_size + 8)
    pos, end = 8, len(apk) - 24
    found: dict[str, list[bytes]] = {}
    try:
        while pos + 12 <= end:
            (pair_len,) = struct.unpack_from("<Q", apk, pos)
            if pair_len < 4 or pos + 8 + pair_len > end:
                break
            (pair_id,) = struct.unpack_from("<I", apk, pos + 8)
            scheme = _SCHEMES.get(pair_id)
            if scheme:
                value = apk[pos + 12 : pos + 8 + pair_len]
                signers, _ = _length_prefixed(value, 0, len(value))
                for signer in _sequence(signers):
                    signed_data, _ = _length_prefixed(signer, 0, len(signer))
                    _digests, p = _length_prefixed(signed_data, 0, len(signed_data))
                    certs, _ = _length_prefixed(signed_data, p, len(signed_data))
                    found.setdefault(scheme, []).extend(_sequence(certs))
            pos += 8 + pair_len
    except (ValueError, struct.error):
        pass  # a damaged block yields what was read before the damage
    return found


def pkcs7_certificates(blob: bytes) -> list[bytes]:
    """DER certificates inside a JAR signature block (``META-INF/*.RSA``, ``.DSA``, ``.EC``)."""
    from asn1crypto import cms

    try:
        info = cms.ContentInfo.load(blob)
        certs = info["content"]["certificates"]
        # the first few only: a crafted set of 250,000 empty elements costs seconds to walk whole
        return [c.chosen.dump() for c in islice(certs, _MAX_CERTS)]
    except Exception:  # noqa: BLE001 - hostile or damaged PKCS#7: no certificates
        return []


def describe_certificates(v1: list[bytes], block: dict[str, list[bytes]]) -> list[Certificate]:
    """Merge certificates from every scheme: one entry per distinct certificate, with its schemes."""
    schemes_of: dict[bytes, list[str]] = {}
    for der in v1:
        schemes_of.setdefault(der, []).append("v1")
    for scheme, ders in block.items():
        for der in ders:
            if scheme not in schemes_of.setdefault(der, []):
                schemes_of[der].append(scheme)
    out = []
    for der, schemes in schemes_of.items():
        cert = _describe(der, tuple(schemes))
        if cert is not None:
            out.append(cert)
    return out
