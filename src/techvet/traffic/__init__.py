"""Observed evidence: what a network capture shows an app did, to whom, in what form.

``analyze(path)`` (techvet.traffic.analysis) reads a pcap, pcapng, HAR or mitmproxy capture and
returns a :class:`TrafficResult`: flows, DNS answers, destinations attributed offline, and findings
in the common model. The readers are ``packets`` (pcap, pcapng), ``streams`` (TCP reassembly, TLS
and HTTP/1.x), ``quic``, ``har`` and ``mitm``; ``personal`` finds personal data in requests;
``correlate`` compares a capture with what an app's code names.
"""

from __future__ import annotations

from techvet.entry import make_callable
from techvet.traffic.analysis import TrafficResult, analyze

__all__ = ["TrafficResult", "analyze"]

make_callable(__name__)  # techvet.traffic(...) answers as techvet.api.traffic does (techvet.entry)
