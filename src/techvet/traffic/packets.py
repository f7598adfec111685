"""Packets from a capture file: pcapng read by dpkt, classic pcap and the headers decoded here.

dpkt reads pcapng with its blocks; classic pcap (either byte order, micro- or nanosecond stamps)
is read here so that a record cut short by the end of the file is noticed (dpkt's reader returns
it as if whole). Decoding each packet into dpkt's Ethernet/IP/TCP objects would cost some 10 us a packet,
most of it building objects whose fields are never read; the headers a flow needs (addresses,
ports, protocol, payload) are read here with struct at a fraction of that. bench/traffic.py
measures the whole against tshark.

Link types: Ethernet (1, with 802.1Q/802.1ad tags), raw IP (12, 14, 101, 228, 229), Linux cooked
capture (113) and its version 2 (276), BSD loopback (0, 108). Anything else is counted and named in
a warning; a truncated file yields what was read, and a warning.

Every length and number in the file is checked before it is used: a packet too short for the
header it claims is skipped (one bad packet never loses the capture), a pcapng block may claim at
most ``MAX_BLOCK`` bytes, timestamps outside 1970-9999 read as unknown (techvet.traffic.fields),
and a long run of records that carry nothing (a file of zeros) ends the reading with a warning
rather than minutes of counting empty records.
"""

from __future__ import annotations

import socket
import struct
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from techvet.errors import InputError, refuse_if_larger
from techvet.traffic.fields import timestamp

MAX_CAPTURE_BYTES = 4 << 30
MAX_RECORD = 256 << 10  # no link layer carries more in one frame
MAX_BLOCK = 16 << 20  # a pcapng block: a packet, or name-resolution or TLS-key blocks of a few MB
MAX_EMPTY_RUN = 10_000  # records (or pcapng blocks) in a row without a packet: no capture has these
WARNED_ITEMS = 3  # items named in a repeated warning before the rest are counted
LINK_ETHERNET = 1
LINK_RAW = {12, 14, 101, 228, 229}
LINK_SLL = 113
LINK_SLL2 = 276
LINK_NULL = {0, 108}
_TRAILER_MAGIC = (b"\x01\x07\x20\x21", b"\x21\x20\x07\x01")


@dataclass(slots=True)
class Packet:
    ts: float
    src: str
    dst: str
    proto: int  # 6 TCP, 17 UDP
    sport: int
    dport: int
    payload: bytes
    tcp_flags: int = 0
    seq: int = 0
    app: str | None = None  # PCAPdroid's trailer: the app (uid and name) that sent or received it


@dataclass
class ReadStats:
    """What reading a capture met: packets (or requests) read and decoded, and the warnings.

    ``warnings`` is what reports show, one line each. A problem that recurs per item (a malformed
    HAR entry, a malformed TLS hello) goes through :meth:`warn_each`, so a hostile file with
    333,333 bad entries yields one line with a count, not a third of a million."""

    packets: int = 0
    decoded: int = 0
    warnings: list[str] = field(default_factory=list)
    unknown_links: dict[int, int] = field(default_factory=dict)
    _repeats: dict[tuple[str, str], tuple[int, int, list[str]]] = field(default_factory=dict, repr=False)

    def warn_each(self, noun: str, item: Any, problem: str, plural: str | None = None) -> None:
        """Warn that ``noun item`` has ``problem`` ("HAR entry 7: malformed, skipped"); the same
        problem for other items updates that one line: "333,333 HAR entries: malformed,
        skipped (1, 2, 3 and 333,330 more)"."""
        key = (noun, problem)
        held = self._repeats.get(key)
        if held is None:
            self._repeats[key] = (len(self.warnings), 1, [str(item)])
            self.warnings.append(f"{noun} {item}: {problem}")
            return
        index, seen, shown = held
        seen += 1
        if len(shown) < WARNED_ITEMS:
            shown.append(str(item))
        self._repeats[key] = (index, seen, shown)
        more = f" and {seen - len(shown):,} more" if seen > len(shown) else ""
        self.warnings[index] = f"{seen:,} {plural or noun + 's'}: {problem} ({', '.join(shown)}{more})"


def read_packets(path: str, stats: ReadStats) -> Iterator[Packet]:
    """TCP and UDP packets of a pcap or pcapng file, in file order."""
    import dpkt

    p = Path(path)
    if not p.is_file():
        raise InputError(f"{path}: no such file")
    refuse_if_larger(path, MAX_CAPTURE_BYTES)
    handle = p.open("rb")
    magic = handle.read(4)
    handle.seek(0)
    with handle:
        if magic == b"\x0a\x0d\x0d\x0a":
            bounded = _BoundedReads(handle)
            try:
                reader = dpkt.pcapng.Reader(bounded)
            except (ValueError, struct.error, dpkt.dpkt.Error) as exc:
                raise InputError(f"{path}: unreadable pcapng header ({exc})") from None
            link, records = reader.datalink(), _dpkt_records(reader, bounded, stats)
        elif magic in _PCAP_MAGIC:
            link, records = _pcap_records(handle, magic, stats)
        elif not magic:
            raise InputError(f"{path}: empty file")
        else:
            raise InputError(f"{path}: not a capture techvet reads (pcap, pcapng, HAR, mitmproxy flow dump)")
        for ts, buf in records:
            stats.packets += 1
            packet = decode(link, ts, buf, stats)
            if packet is not None:
                stats.decoded += 1
                yield packet


_PCAP_MAGIC = {
    b"\xd4\xc3\xb2\xa1": ("<", 1e-6),
    b"\xa1\xb2\xc3\xd4": (">", 1e-6),
    b"\x4d\x3c\xb2\xa1": ("<", 1e-9),
    b"\xa1\xb2\x3c\x4d": (">", 1e-9),
}


class _BlockTooLarge(ValueError):
    """A pcapng block claims more bytes than ``MAX_BLOCK``, or fewer than its own header."""


class _BoundedReads:
    """The capture file as dpkt's pcapng reader sees it: a read of more than ``MAX_BLOCK`` bytes,
    or of a negative count (a block length below 8 makes dpkt ask for "the rest of the file"),
    is refused before any memory is taken. dpkt trusts each block's length and reads it whole,
    so one block claiming 2 GiB would otherwise be a MemoryError. ``idle`` counts blocks read
    since the last packet, so that a run of blocks holding nothing ends the reading."""

    def __init__(self, handle: Any) -> None:
        self._handle = handle
        self.name = getattr(handle, "name", "<capture>")
        self.idle = 0

    def read(self, size: int = -1) -> bytes:
        if size < 0 or size > MAX_BLOCK:
            raise _BlockTooLarge(f"a block claims {size + 8 if size >= -8 else size} bytes")
        if size == 8:  # dpkt reads each block's type and length first
            self.idle += 1
            if self.idle > MAX_EMPTY_RUN:
                raise _BlockTooLarge(f"{MAX_EMPTY_RUN:,} blocks in a row hold no packet")
        data: bytes = self._handle.read(size)
        return data

    def fileno(self) -> int:
        return int(self._handle.fileno())


def _pcap_records(handle: Any, magic: bytes, stats: ReadStats) -> tuple[int, Iterator[tuple[float, bytes]]]:
    """Classic pcap, read here rather than by dpkt: dpkt's reader hands back a record cut short
    by the end of the file as if it were whole, and a truncated capture must say so."""
    order, unit = _PCAP_MAGIC[magic]
    header = handle.read(24)
    if len(header) < 24:
        raise InputError("capture header cut short")
    link = struct.unpack(order + "I", header[20:24])[0] & 0x0FFFFFFF
    record = struct.Struct(order + "IIII")

    def records() -> Iterator[tuple[float, bytes]]:
        empty = 0
        while True:
            head = handle.read(16)
            if not head:
                return
            if len(head) < 16:
                stats.warnings.append(f"capture ends in a damaged record after {stats.packets} packets")
                return
            sec, frac, caplen, _ = record.unpack(head)
            if caplen > MAX_RECORD:
                stats.warnings.append(f"record {stats.packets + 1} claims {caplen} bytes: the rest is not read")
                return
            buf = handle.read(caplen)
            if len(buf) < caplen:
                stats.warnings.append(f"capture ends in a damaged record after {stats.packets} packets")
                return
            empty = empty + 1 if caplen == 0 else 0
            if empty > MAX_EMPTY_RUN:  # a file of zeros after its header: counting it would take minutes
                where = f"after packet {stats.packets}"
                stats.warnings.append(f"{MAX_EMPTY_RUN:,} empty records in a row {where}: the rest is not read")
                return
            yield timestamp(sec + frac * unit), buf

    return link, records()


def _dpkt_records(reader: Any, bounded: _BoundedReads, stats: ReadStats) -> Iterator[tuple[float, bytes]]:
    import dpkt

    iterator = iter(reader)
    while True:
        try:
            ts, buf = next(iterator)
        except StopIteration:
            return
        except (ValueError, struct.error, dpkt.dpkt.Error, EOFError, OverflowError) as exc:
            stats.warnings.append(f"capture ends in a damaged record after {stats.packets} packets ({exc})")
            return
        bounded.idle = 0
        yield timestamp(ts), buf


def decode(link: int, ts: float, buf: bytes, stats: ReadStats) -> Packet | None:
    """The TCP or UDP packet inside a link-layer frame, or None."""
    try:
        app = None
        if link == LINK_ETHERNET and len(buf) >= 46 and buf[-32:-28] in _TRAILER_MAGIC:
            # PCAPdroid's trailer after the IP data: magic, uid, app name (20 bytes), FCS
            order = ">" if buf[-32:-28] == b"\x01\x07\x20\x21" else "<"
            uid = struct.unpack_from(order + "i", buf, len(buf) - 28)[0]
            name = buf[-24:-4].split(b"\0", 1)[0].decode("utf-8", "replace")
            app = f"{name} (uid {uid})" if name else f"uid {uid}"
            buf = buf[:-32]
        if link == LINK_ETHERNET:
            ethertype = struct.unpack_from("!H", buf, 12)[0]
            offset = 14
            while ethertype in (0x8100, 0x88A8):  # VLAN tags
                ethertype = struct.unpack_from("!H", buf, offset + 2)[0]
                offset += 4
        elif link in LINK_RAW:
            ethertype = 0x0800 if buf[0] >> 4 == 4 else 0x86DD
            offset = 0
        elif link == LINK_SLL:
            ethertype, offset = struct.unpack_from("!H", buf, 14)[0], 16
        elif link == LINK_SLL2:
            ethertype, offset = struct.unpack_from("!H", buf, 0)[0], 20
        elif link in LINK_NULL:
            family = struct.unpack_from("<I", buf, 0)[0]
            ethertype = 0x0800 if family == 2 else 0x86DD
            offset = 4
        else:
            stats.unknown_links[link] = stats.unknown_links.get(link, 0) + 1
            return None
        packet = None
        if ethertype == 0x0800:
            packet = _ipv4(ts, buf, offset)
        elif ethertype == 0x86DD:
            packet = _ipv6(ts, buf, offset)
        if packet is not None:
            packet.app = app
        return packet
    except (struct.error, IndexError, ValueError):
        return None  # a frame too short for its headers: this packet only is skipped


def _ipv4(ts: float, buf: bytes, offset: int) -> Packet | None:
    if len(buf) < offset + 20:  # shorter than an IPv4 header: no addresses to read
        return None
    first, proto = buf[offset], buf[offset + 9]
    (total,) = struct.unpack_from("!H", buf, offset + 2)
    (frag,) = struct.unpack_from("!H", buf, offset + 6)
    header = (first & 0x0F) * 4
    if header < 20 or frag & 0x1FFF:  # a header length below the minimum, or a later fragment (no transport header)
        return None
    end = min(len(buf), offset + total) if total else len(buf)
    src = socket.inet_ntop(socket.AF_INET, buf[offset + 12 : offset + 16])
    dst = socket.inet_ntop(socket.AF_INET, buf[offset + 16 : offset + 20])
    return _transport(ts, buf, offset + header, end, proto, src, dst)


def _ipv6(ts: float, buf: bytes, offset: int) -> Packet | None:
    if len(buf) < offset + 40:  # shorter than an IPv6 header
        return None
    length, proto = struct.unpack_from("!HB", buf, offset + 4)
    src = socket.inet_ntop(socket.AF_INET6, buf[offset + 8 : offset + 24])
    dst = socket.inet_ntop(socket.AF_INET6, buf[offset + 24 : offset + 40])
    start = offset + 40
    end = min(len(buf), start + length)
    hops = 0
    while proto in (0, 43, 60) and hops < 8:  # hop-by-hop, routing, destination options
        proto, ext = buf[start], (buf[start + 1] + 1) * 8
        start += ext
        hops += 1
    return _transport(ts, buf, start, end, proto, src, dst)


def _transport(ts: float, buf: bytes, start: int, end: int, proto: int, src: str, dst: str) -> Packet | None:
    if proto == 6:
        sport, dport, seq = struct.unpack_from("!HHI", buf, start)
        data_offset = max(20, (buf[start + 12] >> 4) * 4)  # below 20: a lie, read as no options
        flags = buf[start + 13]
        return Packet(ts, src, dst, 6, sport, dport, buf[start + data_offset : end], flags, seq)
    if proto == 17:
        sport, dport = struct.unpack_from("!HH", buf, start)
        return Packet(ts, src, dst, 17, sport, dport, buf[start + 8 : end])
    return None


__all__ = ["Packet", "ReadStats", "decode", "read_packets"]
