"""Reading a capture: flows, DNS answers, TLS and HTTP facts, destinations and findings.

``analyze(path)`` reads a pcap or pcapng capture (techvet.traffic.packets), groups packets into
flows, reads DNS answers (to name the servers a flow talks to), TLS hellos and certificates and
HTTP/1.x request headers (techvet.traffic.streams), attributes every destination offline
(techvet.place), and reports findings in the common model: cleartext HTTP (TV701), TLS below 1.2
(TV702), weak cipher suites (TV703), certificates that do not name the host, are self-signed or
expired (TV704-TV706). What could not be read (a damaged record, an unknown link type, a
malformed handshake) is a warning; what was read is still reported.
"""

from __future__ import annotations

import json
import re
import socket
import struct
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from techvet.detect._common import finding
from techvet.errors import NothingToAnalyseError
from techvet.findings import Evidence, Finding
from techvet.knowledge import Knowledge, _read, load
from techvet.place import ADDRESS_KEYS, NAME_KEYS, PLACE_KEYS
from techvet.traffic.fields import when as utc_time
from techvet.traffic.packets import Packet, ReadStats, read_packets
from techvet.traffic.streams import (
    Flow,
    client_side,
    first_certificate,
    handshakes,
    http_body,
    http_requests,
    parse_client_hello,
    parse_server_hello,
)

if TYPE_CHECKING:
    from techvet.iocs import IndicatorIndex

MAX_FLOWS = 200_000  # a capture with more distinct flows is summarised up to here, with a warning
MAX_DATAGRAMS, MAX_DATAGRAM = 4, 1600  # what is kept of a UDP flow: enough for a QUIC ClientHello


@dataclass
class TrafficResult:
    path: str
    flows: list[Flow] = field(default_factory=list)
    dns: dict[str, list[str]] = field(default_factory=dict)  # ip -> names
    findings: list[Finding] = field(default_factory=list)
    destinations: list[dict[str, Any]] = field(default_factory=list)
    stats: ReadStats = field(default_factory=ReadStats)
    verdict: dict[str, Any] | None = None  # under the app policy, when the command asks for it
    kind: str = "pcap"  # pcap (pcap or pcapng: packets) | har | mitm (proxy logs: requests)
    dns_asked: dict[str, int] = field(default_factory=dict)  # name looked up -> the first flow that asked

    def to_dict(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "verdict": self.verdict,
            "packets": self.stats.packets,
            "decoded_packets": self.stats.decoded,
            "warnings": self.stats.warnings,
            "flows": [f.to_dict() for f in self.flows],
            "dns": self.dns,
            "destinations": self.destinations,
            "findings": [f.to_dict() for f in self.findings],
        }


def analyze(
    path: str,
    kb: Knowledge | None = None,
    device: dict[str, str] | None = None,
    indicators: IndicatorIndex | None = None,
) -> TrafficResult:
    """Read one capture. ``device``: the test device's own identifiers (kind -> value), whose
    hashed forms are then recognised too; ``indicators``: the known surveillance tools' index the
    destinations are compared with (None: the index in use)."""
    kb = kb or load()
    result = TrafficResult(path)
    kind = _proxy_log_kind(path)
    if kind is not None:
        result.kind = kind
        if kind == "har":
            from techvet.traffic.har import read_har

            result.flows = read_har(path, result.stats)
        else:
            from techvet.traffic.mitm import read_mitm

            result.flows = read_mitm(path, result.stats, _data(kb.directory, "traffic.yaml")["version_names"])
        _something_read(result, "requests")
        return _finish(result, kb, device, indicators)
    flows: dict[tuple[Any, ...], tuple[Flow, bool]] = {}
    for packet in read_packets(path, result.stats):
        _account(packet, flows, result)
    if result.stats.unknown_links:
        kinds = ", ".join(f"{k} ({n} packets)" for k, n in result.stats.unknown_links.items())
        result.stats.warnings.append(f"link types techvet does not decode: {kinds}")
    unique = {id(f): f for f, _ in flows.values()}
    result.flows = sorted(unique.values(), key=lambda f: f.id)
    _something_read(result, "packets")
    for flow in result.flows:
        _inspect(flow, result)
    for flow in result.flows:
        if flow.host is None:
            names = result.dns.get(flow.server)
            if names:
                flow.host, flow.host_from = names[-1], "dns"
    return _finish(result, kb, device, indicators)


def _something_read(result: TrafficResult, unit: str) -> None:
    """Refuse a capture that holds nothing to judge: a pcap of only its header, a HAR without
    entries, packets of no kind techvet decodes. Found nothing there is not nothing there, and
    must never read as a pass."""
    if result.flows:
        return
    stats = result.stats
    why = f"it holds no {unit}" if not stats.packets else f"none of its {stats.packets} {unit} could be decoded"
    if stats.warnings:  # what stopped the reading (a block claiming 2 GiB) says why
        why += f" ({stats.warnings[0]})"
    raise NothingToAnalyseError(f"{result.path}: nothing to analyse: {why}")


def _finish(
    result: TrafficResult, kb: Knowledge, device: dict[str, str] | None, indicators: IndicatorIndex | None
) -> TrafficResult:
    """Findings and destinations of the flows read; a finding about a host carries that host's
    attribution, so a policy line about owners' countries applies to captures as to apps."""
    from techvet.detect.iocs import capture_findings
    from techvet.detect.parties import destination_findings
    from techvet.iocs import installed_index

    result.findings = _findings(result, kb) + _personal_findings(result, kb, device)
    result.destinations = _destinations(result, kb)
    result.findings += destination_findings(result.destinations, kb)  # listed owners, as in scans
    try:  # as a detector in a scan: a failure is said, and the rest of the capture still reported
        result.findings += capture_findings(*_contacted(result), indicators or installed_index(), kb)
    except Exception as exc:  # noqa: BLE001 - one failing match must not lose the capture's report
        result.stats.warnings.append(f"known surveillance tools not checked: {type(exc).__name__}: {exc}")
    result.findings.sort(key=lambda f: (-f.severity, f.rule, f.subject or ""))
    by_host: dict[str, list[dict[str, Any]]] = {}
    for row in result.destinations:
        for name in dict.fromkeys((row["host"], row["ip"])):
            if name:
                by_host.setdefault(name, []).append(row)
    for f in result.findings:
        rows = by_host.get(str(f.extra.get("host") or f.subject))
        if rows:
            # a host served from several addresses has a destination per address: a policy line
            # about networks holds when any of them is on one (techvet.verdict), whichever sent most
            places = [{k: row[k] for k in ("host", "ip", *PLACE_KEYS)} for row in rows]
            f.extra["destination"] = places[0]
            if len(places) > 1:
                f.extra["destinations"] = places
    return result


def _contacted(result: TrafficResult) -> tuple[dict[str, list[Evidence]], set[str]]:
    """Every name the capture shows named (TLS SNI, HTTP Host), looked up or answered for (DNS), and
    every address contacted, with where it shows it (a flow first: it says more than the lookup);
    and the names only looked up, never seen in a flow. What known tools' indicators meet."""
    flows: dict[str, list[Evidence]] = {}
    lookups: dict[str, list[Evidence]] = {}

    def seen(bucket: dict[str, list[Evidence]], name: str | None, detail: str) -> None:
        if name:
            kept = bucket.setdefault(name.lower().rstrip("."), [])
            if len(kept) < 2:
                kept.append(Evidence(result.path, detail))

    for flow in result.flows:
        where = f"flow {flow.id} {flow.client}:{flow.client_port} -> {flow.server}:{flow.server_port}"
        seen(flows, flow.server, f"{where}: contacted")
        seen(flows, flow.sni, f"{where}: TLS server name {flow.sni}")
        if flow.host:  # from SNI or HTTP, or from the DNS answer for the address it contacted
            named = f"{flow.host_from or 'host'} {flow.host}"
            if flow.host_from == "dns":
                named = f"{flow.host} (named by the capture's DNS answer)"
            seen(flows, flow.host, f"{where}: {named}")
        for request in flow.requests[:50]:
            host = (request.get("host") or "").split(":")[0]
            seen(flows, host, f"{where}: {request.get('method', 'request')} to {host}")
    for name, flow_id in result.dns_asked.items():
        seen(lookups, name, f"DNS query for {name}" + (f" (flow {flow_id})" if flow_id else ""))
    for address, names in result.dns.items():
        for name in names:
            seen(lookups, name, f"DNS answer: {name} is {address}")
    contacted = {name: [*flows.get(name, []), *lookups.get(name, [])][:2] for name in {*flows, *lookups}}
    return contacted, set(lookups) - set(flows)


@lru_cache(maxsize=8)
def _data(directory: Path, name: str) -> dict[str, Any]:
    """A knowledge file the capture analysis reads, read once per process (not once per capture)."""
    return _read(directory, name)


def _proxy_log_kind(path: str) -> str | None:
    """``har`` or ``mitm`` for a proxy's log of decrypted requests; None for a packet capture."""
    from techvet.traffic.mitm import looks_like_mitm

    if path.lower().endswith(".har"):
        return "har"
    try:
        with open(path, "rb") as handle:
            head = handle.read(64)
    except OSError:
        return None
    if head.lstrip()[:1] == b"{":
        return "har"
    return "mitm" if looks_like_mitm(head) else None


def _account(packet: Packet, flows: dict[tuple[Any, ...], tuple[Flow, bool]], result: TrafficResult) -> None:
    key = (packet.proto, packet.src, packet.sport, packet.dst, packet.dport)
    held = flows.get(key)
    if held is None:
        if len(flows) >= 2 * MAX_FLOWS:
            if not any(w.startswith("more than") for w in result.stats.warnings):
                result.stats.warnings.append(f"more than {MAX_FLOWS} flows: later ones are not followed")
            return
        syn_only = packet.proto == 6 and packet.tcp_flags & 0x12 == 0x02
        upward = client_side(packet.sport, packet.dport, syn_only)
        client, cport, server, sport = (
            (packet.src, packet.sport, packet.dst, packet.dport)
            if upward
            else (packet.dst, packet.dport, packet.src, packet.sport)
        )
        flow = Flow(
            len(flows) // 2 + 1,
            "tcp" if packet.proto == 6 else "udp",
            client,
            cport,
            server,
            sport,
            packet.ts,
            packet.ts,
        )
        flows[key] = (flow, upward)
        flows[(packet.proto, packet.dst, packet.dport, packet.src, packet.sport)] = (flow, not upward)
        held = flows[key]
    flow, upward = held
    flow.packets += 1
    if packet.app and flow.app is None:
        flow.app = packet.app
    flow.last = max(flow.last, packet.ts)
    if upward:
        flow.bytes_up += len(packet.payload)
    else:
        flow.bytes_down += len(packet.payload)
    if packet.proto == 6:
        (flow.up if upward else flow.down).add(packet.seq, packet.payload, bool(packet.tcp_flags & 0x02))
    elif 53 in (packet.sport, packet.dport):
        _dns_message(packet.payload, result, flow.id, is_answer=not upward)
    elif upward and len(flow.datagrams) < MAX_DATAGRAMS and _quic_initial_like(packet.payload):
        flow.datagrams.append(packet.payload[:MAX_DATAGRAM])  # whole: QUIC's Initial packets need it


def _quic_initial_like(payload: bytes) -> bool:
    """A client's QUIC Initial datagram: a long header, padded to at least 1200 bytes (RFC 9000
    s.14.1). Only those are kept, so other UDP traffic costs no memory."""
    return len(payload) >= 1200 and payload[0] & 0xC0 == 0xC0


MAX_NAMES_ASKED = 100_000  # distinct names kept from DNS questions; a capture with more keeps the first


def _dns_message(payload: bytes, result: TrafficResult, flow_id: int, is_answer: bool) -> None:
    """A DNS question (the name is kept: a query for a known tool's server counts even when no
    answer came, as for a dead C2) or an answer (its addresses name the servers flows talk to)."""
    import dpkt

    try:
        message = dpkt.dns.DNS(payload)
    except (dpkt.dpkt.Error, ValueError, IndexError, struct.error):
        return
    # name the address by the question (the name the app asked for), not by the last CNAME target
    asked = message.qd[0].name.lower().rstrip(".") if message.qd else None
    if asked and asked not in result.dns_asked and len(result.dns_asked) < MAX_NAMES_ASKED:
        result.dns_asked[asked] = flow_id
    if not is_answer:
        return
    for answer in message.an:
        if answer.type in (dpkt.dns.DNS_A, dpkt.dns.DNS_AAAA) and answer.rdata:
            family = socket.AF_INET if answer.type == dpkt.dns.DNS_A else socket.AF_INET6
            try:
                ip = socket.inet_ntop(family, answer.rdata)
            except ValueError:
                continue
            names = result.dns.setdefault(ip, [])
            name = asked or answer.name.lower().rstrip(".")
            if name not in names:
                names.append(name)


def _inspect(flow: Flow, result: TrafficResult) -> None:
    if flow.datagrams:
        _quic(flow, result)
        flow.datagrams = []
        return
    up, down = bytes(flow.up.data), bytes(flow.down.data)
    if up[:1] == b"\x16" and up[1:2] == b"\x03":
        for kind, body in handshakes(up):
            if kind == 1:
                _client_hello(flow, body, "sni", result)
                break
    if down[:1] == b"\x16" and down[1:2] == b"\x03":  # the client may have sent an SSLv2-style hello
        for kind, body in handshakes(down):
            if kind == 2:
                flow.tls.update(parse_server_hello(body))
            elif kind == 11:
                der = first_certificate(body)
                if der:
                    flow.tls["cert_der"] = der
                break
    requests = http_requests(up)
    if requests:
        flow.requests = requests
        if flow.host is None and requests[0]["host"]:
            flow.host, flow.host_from = requests[0]["host"].split(":")[0].lower(), "http"
        _httpdns(flow, down, result)


def _quic(flow: Flow, result: TrafficResult) -> None:
    from techvet.traffic.quic import client_hello

    body = client_hello(flow.datagrams)
    if body is not None:
        flow.tls["quic"] = True
        _client_hello(flow, body, "quic", result)


def _client_hello(flow: Flow, body: bytes, source: str, result: TrafficResult) -> None:
    """What a ClientHello tells of a flow (over TCP, ``source`` "sni", or QUIC): the server name,
    ALPN, offered versions and suites."""
    hello = parse_client_hello(body)
    flow.tls.update({k: v for k, v in hello.items() if k not in ("sni", "alpn")})
    if hello.get("sni"):
        flow.sni = hello["sni"]
        flow.host, flow.host_from = hello["sni"], source
    flow.alpn = hello.get("alpn", [])
    if hello.get("malformed"):
        kind = "QUIC" if source == "quic" else "TLS"
        result.stats.warn_each("flow", flow.id, f"malformed {kind} client hello")


def _httpdns(flow: Flow, down: bytes, result: TrafficResult) -> None:
    """DNS over plain HTTP (Alibaba's and Tencent's HTTPDNS: GET /<account>/d?host=NAME): the name
    asked for, and the addresses in the JSON answer, join the DNS table."""
    for request in flow.requests:
        m = re.search(r"[?&](?:host|dn)=([A-Za-z0-9.-]+)", request["target"])
        if m is None or re.search(r"/(?:sign_)?d\?", request["target"]) is None:
            continue
        name = m.group(1).lower()
        request["httpdns_query"] = name
        body = http_body(down)
        try:
            answer = json.loads(body[: 64 << 10] or b"{}")
        except ValueError:
            continue
        for ip in answer.get("ips", []) if isinstance(answer, dict) else []:
            if isinstance(ip, str):
                result.dns.setdefault(ip, []).append(name)


def _cert_facts(der: bytes) -> dict[str, Any] | None:
    from asn1crypto import x509

    try:
        cert = x509.Certificate.load(der)
        tbs = cert["tbs_certificate"]
        names = [n.lower() for n in cert.valid_domains]
        return {
            "subject": tbs["subject"].human_friendly,
            "issuer": tbs["issuer"].human_friendly,
            "names": names,
            "self_signed": cert.self_issued,
            "not_before": cert.not_valid_before,
            "not_after": cert.not_valid_after,
        }
    except (ValueError, TypeError, KeyError):
        return None


def _name_matches(host: str, names: list[str]) -> bool:
    for name in names:
        if name == host or (name.startswith("*.") and host.endswith(name[1:]) and host.count(".") == name.count(".")):
            return True
    return False


def _findings(result: TrafficResult, kb: Knowledge) -> list[Finding]:
    rules = kb.rules
    config = _data(kb.directory, "traffic.yaml")
    suites = _data(kb.directory, "tls_suites.json")["suites"]
    markers = config["weak_suite_markers"]
    weak_words = set(config["openssl_weak_suite_words"])
    old = config["old_versions"]
    out: list[Finding] = []
    cleartext: dict[str, list[Evidence]] = {}
    for flow in result.flows:
        where = f"flow {flow.id} {flow.client}:{flow.client_port} -> {flow.server}:{flow.server_port}"
        for request in flow.requests:
            if request.get("scheme") == "https":
                continue  # decrypted by a proxy (HAR): not cleartext on the wire
            host = (request["host"] or flow.server).split(":")[0].lower()
            shown = request["path"] + (
                "?" + "&".join(f"{k}=…" for k in request["query_keys"]) if request["query_keys"] else ""
            )
            cleartext.setdefault(host, []).append(Evidence(result.path, f"{where}: {request['method']} {shown[:200]}"))
        tls = flow.tls
        version = tls.get("version")
        if version in old:
            out.append(
                finding(
                    rules["TV702"],
                    (Evidence(result.path, f"{where}: server chose {old[version]}"),),
                    subject=flow.host or flow.server,
                    title=f"Negotiates {old[version]} with {flow.host or flow.server}",
                )
            )
        suite = tls.get("cipher_suite")
        name = tls.get("cipher_suite_name")  # a proxy's log names the suite
        if suite is not None:
            name = suites.get(str(suite), f"0x{suite:04x}")
            tls["cipher_suite_name"] = name
        if name is not None:
            weak = any(marker in name for marker in markers) or bool(set(name.split("-")) & weak_words)
            if weak:
                ev = Evidence(result.path, f"{where}: server chose {name}")
                out.append(
                    finding(
                        rules["TV703"],
                        (ev,),
                        subject=name,
                        title=f"Negotiates weak cipher suite {name}",
                        host=flow.host or flow.server,
                    )
                )
        der = tls.pop("cert_der", None)
        facts = _cert_facts(der) if der else None
        if facts is not None:
            tls["certificate"] = {k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in facts.items()}
            subject = flow.sni or flow.host
            ev = Evidence(result.path, f"{where}: certificate {facts['subject']}")
            if subject and facts["names"] and not _name_matches(subject, facts["names"]):
                out.append(
                    finding(
                        rules["TV704"],
                        (ev,),
                        subject=subject,
                        title=f"Certificate for {', '.join(facts['names'][:3])} presented for {subject}",
                    )
                )
            if facts["self_signed"]:
                out.append(finding(rules["TV705"], (ev,), subject=subject or flow.server))
            seen = utc_time(flow.first)  # None: the capture does not say when (or says the year 55,911)
            if seen is not None and not facts["not_before"] <= seen <= facts["not_after"]:
                out.append(finding(rules["TV706"], (ev,), subject=subject or flow.server))
    for host, evidence in sorted(cleartext.items()):
        out.append(
            finding(
                rules["TV701"],
                tuple(evidence[:8]),
                subject=host,
                title=f"Sends HTTP requests in cleartext to {host}",
                requests=len(evidence),
            )
        )
    return out  # _finish sorts these with the personal-data findings


def _personal_findings(result: TrafficResult, kb: Knowledge, device: dict[str, str] | None) -> list[Finding]:
    """Personal data in requests, one finding per host and kind of data: TV711 when the request
    went in cleartext, TV710 when it was read decrypted (a HAR of HTTPS)."""
    from techvet.traffic.personal import Detector

    detector = Detector(_data(kb.directory, "personal_data.yaml"), device)
    grouped: dict[tuple[str, str, bool], list[Evidence]] = {}
    for flow in result.flows:
        for n, request in enumerate(flow.requests):
            sightings = detector.scan_request(request["target"], request["_headers"], request["_body"])
            host = (request["host"] or flow.server).split(":")[0].lower()
            for s in sightings:
                flow.personal.append({"request": n, **s.to_dict()})
                where = f"flow {flow.id} request {n + 1} {request['method']} {request['path'][:80]}"
                detail = f"{where}: {s.place} field {s.key!r} ({s.form}) = {s.masked}"
                clear = request.get("scheme") != "https"
                grouped.setdefault((host, s.kind, clear), []).append(Evidence(result.path, detail))
    out = []
    for (host, kind, clear), evidence in sorted(grouped.items()):
        rule = kb.rules["TV711" if clear else "TV710"]
        how = "in cleartext " if clear else ""
        title = f"Sends {kind.replace('_', ' ')} {how}to {host}"
        out.append(finding(rule, tuple(evidence[:8]), subject=host, title=title, data=kind, sightings=len(evidence)))
    return out


def _destinations(result: TrafficResult, kb: Knowledge) -> list[dict[str, Any]]:
    """One row per server (address and, where known, name): attribution, flows, bytes, cleartext."""
    from techvet.place import Attribution, attribute, attribute_ips

    by_server: dict[tuple[str, str | None], list[Flow]] = {}
    for flow in result.flows:
        if flow.protocol == "dns":
            continue
        by_server.setdefault((flow.server, flow.host), []).append(flow)
    servers = sorted({s for s, _ in by_server} - {""})  # "": a proxy log that names no address
    # keyed by the flows' own server strings (one form: techvet.traffic.fields.address), never by
    # what the attribution makes of them, so a lookup cannot miss
    ip_facts = dict(zip(servers, attribute_ips(servers, kb), strict=True))
    ip_facts[""] = Attribution("", "ip", reasons=("the capture gives no server address",))
    rows = []
    for (server, host), flows in sorted(by_server.items(), key=lambda kv: -sum(f.bytes_up for f in kv[1])):
        ip = ip_facts[server]
        named = attribute(host, kb) if host else None
        # the owner is the name's (never the network's: a site hosted on Alibaba Cloud is not
        # Alibaba's); the network, its owner and the server country are the address's
        rows.append(
            {
                "host": host,
                "ip": server,
                **{k: getattr(named, k) if named is not None else None for k in NAME_KEYS},
                **{k: getattr(ip, k) for k in ADDRESS_KEYS},
                "reasons": [*(named.reasons if named else ()), *ip.reasons],
                "sources": list({s["name"]: s for s in [*(named.sources if named else ()), *ip.sources]}.values()),
                "flows": len(flows),
                "bytes_up": sum(f.bytes_up for f in flows),
                "bytes_down": sum(f.bytes_down for f in flows),
                "cleartext": any(r.get("scheme") != "https" for f in flows for r in f.requests),
                "protocols": sorted({f.protocol for f in flows}),
            }
        )
    return rows


__all__ = ["TrafficResult", "analyze"]
