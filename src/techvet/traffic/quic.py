"""The server name of a QUIC connection, from the client's Initial packets (RFC 9000, 9001, 9369).

QUIC encrypts even its first packet, but with keys anyone can derive from the packet itself (the
Destination Connection ID and a salt published per version), so a passive reader can decrypt the
Initial packets and read the TLS ClientHello inside: the SNI, ALPN and offered suites, as for TLS
over TCP. Large ClientHellos (post-quantum key shares) span several Initial packets; their CRYPTO
frames are put back together by offset.

Decryption uses ``cryptography`` (AES-128-GCM and AES-ECB for header protection); HKDF is the
stdlib's HMAC, since it is two lines. Only the client's Initial packets are read, at most a few per
flow, each bounded by the datagram size: the cost per flow is fixed.
"""

from __future__ import annotations

import hashlib
import hmac
import struct

# Initial salts and the long-header type bits of an Initial packet, per version.
_VERSIONS: dict[int, tuple[bytes, int, bytes]] = {
    0x00000001: (bytes.fromhex("38762cf7f55934b34d179ae6a4c80cadccbb7f0a"), 0, b"quic "),  # RFC 9001
    0x6B3343CF: (bytes.fromhex("0dede3def700a6db819381be6e269dcbf9bd2ed9"), 1, b"quicv2 "),  # RFC 9369
}
MAX_CRYPTO = 16 << 10  # a ClientHello longer than this is not followed


def _expand_label(secret: bytes, label: bytes, length: int) -> bytes:
    """HKDF-Expand-Label of TLS 1.3 (RFC 8446 s.7.1), for outputs of at most one SHA-256 block."""
    full = b"tls13 " + label
    info = struct.pack("!HB", length, len(full)) + full + b"\x00"
    return hmac.new(secret, info + b"\x01", hashlib.sha256).digest()[:length]


def _varint(data: bytes, at: int) -> tuple[int, int]:
    if at >= len(data):
        raise ValueError("truncated")
    size = 1 << (data[at] >> 6)
    if at + size > len(data):
        raise ValueError("truncated")
    value = data[at] & 0x3F
    for b in data[at + 1 : at + size]:
        value = (value << 8) | b
    return value, at + size


def _client_keys(version: int, dcid: bytes) -> tuple[bytes, bytes, bytes]:
    salt, _, prefix = _VERSIONS[version]
    initial = hmac.new(salt, dcid, hashlib.sha256).digest()
    client = _expand_label(initial, b"client in", 32)
    return (
        _expand_label(client, prefix + b"key", 16),
        _expand_label(client, prefix + b"iv", 12),
        _expand_label(client, prefix + b"hp", 16),
    )


def initial_crypto(datagram: bytes, dcid: bytes | None = None) -> tuple[bytes | None, list[tuple[int, bytes]]]:
    """The CRYPTO frames (offset, data) of the client Initial packets in one UDP datagram, and the
    Destination Connection ID the keys came from (a client keeps it for all its Initial packets).
    Packets that are not Initial, or do not decrypt, are skipped."""
    from cryptography.exceptions import InvalidTag
    from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    frames: list[tuple[int, bytes]] = []
    at = 0
    while at + 7 < len(datagram) and datagram[at] & 0xC0 == 0xC0:  # long header, fixed bit
        first = datagram[at]
        version = int.from_bytes(datagram[at + 1 : at + 5], "big")
        if version not in _VERSIONS:
            break
        i = at + 5
        dcid_here = datagram[i + 1 : i + 1 + datagram[i]]
        i += 1 + datagram[i]
        if i >= len(datagram):
            break
        i += 1 + datagram[i]  # source connection id
        kind = (first >> 4) & 0x03
        try:
            if kind == _VERSIONS[version][1]:
                token_length, i = _varint(datagram, i)
                i += token_length
            length, pn_at = _varint(datagram, i)
        except ValueError:
            break
        end = pn_at + length
        if end > len(datagram) or kind != _VERSIONS[version][1] or length < 20:
            at = end
            continue
        dcid = dcid if dcid is not None else dcid_here
        key, iv, hp = _client_keys(version, dcid)
        sample = datagram[pn_at + 4 : pn_at + 20]
        encryptor = Cipher(algorithms.AES(hp), modes.ECB()).encryptor()
        mask = encryptor.update(sample) + encryptor.finalize()
        first_clear = first ^ (mask[0] & 0x0F)
        pn_length = (first_clear & 0x03) + 1
        pn_bytes = bytes(b ^ m for b, m in zip(datagram[pn_at : pn_at + pn_length], mask[1:], strict=False))
        header = bytes([first_clear]) + datagram[at + 1 : pn_at] + pn_bytes
        nonce = bytes(a ^ b for a, b in zip(iv, int.from_bytes(pn_bytes, "big").to_bytes(12, "big"), strict=True))
        try:
            plain = AESGCM(key).decrypt(nonce, datagram[pn_at + pn_length : end], header)
        except (InvalidTag, ValueError):
            at = end
            continue
        frames.extend(_crypto_frames(plain))
        at = end
    return dcid, frames


def _crypto_frames(plain: bytes) -> list[tuple[int, bytes]]:
    """CRYPTO frames of a decrypted Initial payload; PADDING, PING and ACK are stepped over, and
    anything else ends the reading (an Initial carries nothing else the client sends first)."""
    out, i = [], 0
    try:
        while i < len(plain):
            kind = plain[i]
            if kind in (0x00, 0x01):
                i += 1
            elif kind == 0x06:
                offset, i = _varint(plain, i + 1)
                length, i = _varint(plain, i)
                out.append((offset, plain[i : i + length]))
                i += length
            elif kind in (0x02, 0x03):
                _, i = _varint(plain, i + 1)  # largest acknowledged
                _, i = _varint(plain, i)  # delay
                count, i = _varint(plain, i)
                _, i = _varint(plain, i)  # first range
                for _ in range(min(count, 256)):
                    _, i = _varint(plain, i)
                    _, i = _varint(plain, i)
                if kind == 0x03:
                    for _ in range(3):
                        _, i = _varint(plain, i)
            else:
                break
    except ValueError:
        pass
    return out


def client_hello(datagrams: list[bytes]) -> bytes | None:
    """The body of the TLS ClientHello carried by a flow's first client datagrams, or None."""
    dcid: bytes | None = None
    stream = bytearray()
    pieces: dict[int, bytes] = {}
    for datagram in datagrams:
        dcid, frames = initial_crypto(datagram, dcid)
        for offset, data in frames:
            if offset < MAX_CRYPTO:
                pieces.setdefault(offset, data[: MAX_CRYPTO - offset])
        while len(stream) in pieces:
            stream += pieces.pop(len(stream))
        if len(stream) >= 4 and stream[0] == 0x01:
            size = int.from_bytes(stream[1:4], "big")
            if len(stream) >= 4 + size:
                return bytes(stream[4 : 4 + size])
    return None


__all__ = ["client_hello", "initial_crypto"]
