"""Captures with known contents, built in the test itself with dpkt: one cleartext HTTP request per
TCP connection, to a chosen server address with a chosen Host header."""

from __future__ import annotations

import socket
from pathlib import Path

import dpkt


def http_capture(path: Path, requests: list[tuple[str, str, str]]) -> Path:
    """A pcap holding, for each (server IPv4, Host header, path), a SYN and a GET from 10.0.0.2."""
    with path.open("wb") as handle:
        writer = dpkt.pcap.Writer(handle)
        t = 1764201600.0
        for i, (server, host, target) in enumerate(requests):
            payload = f"GET {target} HTTP/1.1\r\nHost: {host}\r\nUser-Agent: okhttp/4.9\r\n\r\n".encode()
            seq = 1000 + i * 7919
            for flags, data, s in ((dpkt.tcp.TH_SYN, b"", seq), (dpkt.tcp.TH_ACK | dpkt.tcp.TH_PUSH, payload, seq + 1)):
                tcp = dpkt.tcp.TCP(sport=40000 + i, dport=80, seq=s, flags=flags, data=data)
                ip = dpkt.ip.IP(src=socket.inet_aton("10.0.0.2"), dst=socket.inet_aton(server), p=6, data=tcp)
                ip.len = len(bytes(ip))
                eth = dpkt.ethernet.Ethernet(src=b"\x02" * 6, dst=b"\x04" * 6, type=dpkt.ethernet.ETH_TYPE_IP, data=ip)
                writer.writepkt(bytes(eth), ts=t)
                t += 0.01
    return path


def header_only_pcap(path: Path) -> Path:
    """A pcap with its global header and no packet at all."""
    with path.open("wb") as handle:
        dpkt.pcap.Writer(handle)
    return path


def dns_capture(path: Path, names: list[str], answers: dict[str, str] | None = None) -> Path:
    """A pcap of DNS queries from 10.0.0.2 to 10.0.0.1 for ``names``, each followed by the server's
    reply: an A record where ``answers`` gives an address, else NXDOMAIN (a dead server's name)."""
    answers = answers or {}
    with path.open("wb") as handle:
        writer = dpkt.pcap.Writer(handle)
        t = 1764201600.0
        for i, name in enumerate(names):
            query = dpkt.dns.DNS(id=i + 1, qd=[dpkt.dns.DNS.Q(name=name, type=dpkt.dns.DNS_A)])
            reply = dpkt.dns.DNS(id=i + 1, qr=dpkt.dns.DNS_R, qd=query.qd)
            if name in answers:
                reply.an = [dpkt.dns.DNS.RR(name=name, type=dpkt.dns.DNS_A, rdata=socket.inet_aton(answers[name]))]
            else:
                reply.rcode = dpkt.dns.DNS_RCODE_NXDOMAIN
            for src, dst, sport, dport, message in (
                ("10.0.0.2", "10.0.0.1", 50000 + i, 53, query),
                ("10.0.0.1", "10.0.0.2", 53, 50000 + i, reply),
            ):
                udp = dpkt.udp.UDP(sport=sport, dport=dport, data=bytes(message))
                udp.ulen = len(bytes(udp))
                ip = dpkt.ip.IP(src=socket.inet_aton(src), dst=socket.inet_aton(dst), p=17, data=udp)
                ip.len = len(bytes(ip))
                eth = dpkt.ethernet.Ethernet(src=b"\x02" * 6, dst=b"\x04" * 6, type=dpkt.ethernet.ETH_TYPE_IP, data=ip)
                writer.writepkt(bytes(eth), ts=t)
                t += 0.01
    return path
