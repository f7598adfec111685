#!/usr/bin/env python3
"""Build tests/fixtures/captures/quic_initial.pcap: QUIC client Initial packets with known contents.

    python tools/build_quic_capture.py

Three connections to port 443, each a TLS 1.3 ClientHello in QUIC Initial packets, encrypted and
header-protected as RFC 9001 s.5 says (keys from the Destination Connection ID), written by this
script with ``cryptography``'s HKDF rather than techvet's code: tests read the SNI back with techvet
and with tshark, which decrypts QUIC Initials on its own.
  1. QUIC v1, SNI api.quic-demo.cn, ALPN h3, one packet;
  2. QUIC v1, SNI upload.quic-demo.cn, a post-quantum key share that makes the ClientHello span
     two Initial packets (as Chrome's do);
  3. QUIC v2 (RFC 9369), SNI v2.quic-demo.net.
Plus one UDP datagram to port 443 that is not QUIC, which must give nothing.
"""

from __future__ import annotations

import struct
from pathlib import Path

import dpkt
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDFExpand

OUT = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "captures" / "quic_initial.pcap"
SALTS = {
    1: bytes.fromhex("38762cf7f55934b34d179ae6a4c80cadccbb7f0a"),
    0x6B3343CF: bytes.fromhex("0dede3def700a6db819381be6e269dcbf9bd2ed9"),
}


def expand_label(secret: bytes, label: str, length: int) -> bytes:
    full = b"tls13 " + label.encode()
    info = struct.pack("!HB", length, len(full)) + full + b"\x00"
    return HKDFExpand(hashes.SHA256(), length, info).derive(secret)


def extract(salt: bytes, key: bytes) -> bytes:
    import hmac

    return hmac.new(salt, key, "sha256").digest()


def ext(kind: int, body: bytes) -> bytes:
    return struct.pack("!HH", kind, len(body)) + body


def client_hello(sni: str, big: bool) -> bytes:
    name = sni.encode()
    shares = struct.pack("!HH", 0x001D, 32) + bytes(range(32))
    if big:
        shares = struct.pack("!HH", 0x11EC, 1216) + bytes(i % 251 for i in range(1216)) + shares
    extensions = b"".join(
        [
            ext(0, struct.pack("!HBH", len(name) + 3, 0, len(name)) + name),
            ext(16, struct.pack("!HB", 3, 2) + b"h3"),
            ext(43, b"\x02\x03\x04"),
            ext(10, struct.pack("!HHH", 4, 0x11EC if big else 0x0017, 0x001D)),
            ext(13, struct.pack("!HHHH", 6, 0x0403, 0x0804, 0x0401)),
            ext(51, struct.pack("!H", len(shares)) + shares),
            ext(0x39, bytes([0x04, 0x04, 0x80, 0x10, 0x00, 0x00])),  # initial_max_data
        ]
    )
    body = (
        b"\x03\x03"
        + bytes(range(100, 132))
        + b"\x00"
        + struct.pack("!HHHH", 6, 0x1301, 0x1302, 0x1303)
        + b"\x01\x00"
        + struct.pack("!H", len(extensions))
        + extensions
    )
    return b"\x01" + len(body).to_bytes(3, "big") + body


def varint(value: int) -> bytes:
    return struct.pack("!H", 0x4000 | value) if value >= 64 else bytes([value])


def initial_packet(version: int, dcid: bytes, pn: int, frames: bytes) -> bytes:
    secret = expand_label(extract(SALTS[version], dcid), "client in", 32)
    prefix = "quicv2 " if version != 1 else "quic "
    key, iv, hp = (expand_label(secret, prefix + n, s) for n, s in (("key", 16), ("iv", 12), ("hp", 16)))
    type_bits = 1 if version != 1 else 0
    pn_bytes = pn.to_bytes(2, "big")
    header_start = bytes([0xC0 | (type_bits << 4) | 0x01]) + struct.pack("!I", version)
    header_start += bytes([len(dcid)]) + dcid + b"\x00" + b"\x00"  # no source id, no token
    plain = frames + b"\x00" * max(0, 1180 - len(frames))  # padded: the datagram passes 1200 bytes
    length = len(pn_bytes) + len(plain) + 16
    header = header_start + varint(length) + pn_bytes
    nonce = bytes(a ^ b for a, b in zip(iv, pn.to_bytes(12, "big"), strict=True))
    sealed = AESGCM(key).encrypt(nonce, plain, header)
    packet = bytearray(header + sealed)
    pn_at = len(header) - len(pn_bytes)
    encryptor = Cipher(algorithms.AES(hp), modes.ECB()).encryptor()
    mask = encryptor.update(bytes(packet[pn_at + 4 : pn_at + 20])) + encryptor.finalize()
    packet[0] ^= mask[0] & 0x0F
    for i in range(len(pn_bytes)):
        packet[pn_at + i] ^= mask[1 + i]
    return bytes(packet)


def crypto_frame(offset: int, data: bytes) -> bytes:
    return b"\x06" + varint(offset) + varint(len(data)) + data


def main() -> None:
    connections = [
        (1, "api.quic-demo.cn", False, 51001, 20),
        (1, "upload.quic-demo.cn", True, 51002, 21),
        (0x6B3343CF, "v2.quic-demo.net", False, 51003, 22),
    ]
    OUT.parent.mkdir(parents=True, exist_ok=True)
    with OUT.open("wb") as handle:
        writer = dpkt.pcap.Writer(handle)
        ts = 1_700_000_000.0

        def send(sport: int, last: int, payload: bytes) -> None:
            nonlocal ts
            udp = dpkt.udp.UDP(sport=sport, dport=443, data=payload)
            udp.ulen = len(bytes(udp))
            ip = dpkt.ip.IP(src=bytes([10, 0, 0, 2]), dst=bytes([198, 51, 100, last]), p=17, data=udp)
            ip.len = len(bytes(ip))
            eth = dpkt.ethernet.Ethernet(src=b"\x02" * 6, dst=b"\x04" * 6, type=dpkt.ethernet.ETH_TYPE_IP, data=ip)
            writer.writepkt(bytes(eth), ts=ts)
            ts += 0.01

        for version, sni, big, sport, last in connections:
            dcid = bytes([sport & 0xFF]) * 8
            hello = client_hello(sni, big)
            pieces = [(0, hello)] if len(hello) < 1100 else [(0, hello[:1100]), (1100, hello[1100:])]
            for pn, (offset, data) in enumerate(pieces):
                send(sport, last, initial_packet(version, dcid, pn, crypto_frame(offset, data)))
        send(51004, 23, b"\xc3" + bytes(1250))  # looks like a long header, is not QUIC
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
