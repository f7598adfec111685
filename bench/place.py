#!/usr/bin/env python3
"""Benchmark techvet's offline attribution against the raw lookup libraries, in the same run.

    python bench/place.py            (make bench-place)

IPs: 1 M random IPv4 addresses through ``techvet.place.server_countries`` and through iptocc's own
batch call; the same addresses through ``techvet.place.networks_of`` (AS numbers) and through pyasn,
the field's radix-tree IP -> AS lookup, loaded with the same bundled table (converted to prefixes
in this run, so both answer from the same data and must agree); and whole IP attributions
(``attribute_ips``) against iptocc plus pyasn. Hosts: 100 k host names (owned, cloud-region, ccTLD
and unknown ones) through ``techvet.place.attribute`` (registrable domain, owner, owner's country,
cloud region) and through the publicsuffixlist package's registrable-domain lookup alone. Prints lookups per second and
techvet's overhead over each raw library.
"""

from __future__ import annotations

import random
import sys
import tempfile
import time
from pathlib import Path
from typing import Any


def _rate(n: int, seconds: float) -> str:
    return f"{n / seconds:,.0f}/s"


def _pyasn_table(kb: Any, path: Path) -> Any:
    """pyasn loaded from techvet's own IPv4 ranges, written as the prefixes pyasn reads."""
    import ipaddress

    import pyasn

    starts, asns = kb.networks._v4
    bounds = [*starts.tolist(), 1 << 32]
    with path.open("w") as out:
        for i, asn in enumerate(asns.tolist()):
            if asn:
                first, last = ipaddress.IPv4Address(bounds[i]), ipaddress.IPv4Address(bounds[i + 1] - 1)
                for net in ipaddress.summarize_address_range(first, last):
                    out.write(f"{net}\t{asn}\n")
    return pyasn.pyasn(str(path))


def main() -> int:
    import iptocc
    from publicsuffixlist import PublicSuffixList

    from techvet.knowledge import load
    from techvet.place import attribute, attribute_ips, networks_of, server_countries

    rng = random.Random(20261127)
    kb = load()
    _ = kb.psl, kb.place  # data loading is not part of a lookup
    ips = [
        f"{rng.randrange(1, 224)}.{rng.randrange(256)}.{rng.randrange(256)}.{rng.randrange(256)}"
        for _ in range(1_000_000)
    ]
    owned = list(kb.place.domain_owners)
    hosts = []
    for _ in range(100_000):
        kind = rng.randrange(4)
        if kind == 0:
            hosts.append(rng.choice(owned))
        elif kind == 1:
            hosts.append(f"api{rng.randrange(99)}.{rng.choice(owned)}")
        elif kind == 2:
            hosts.append(f"bucket{rng.randrange(9999)}.oss-cn-hangzhou.aliyuncs.com")
        else:
            hosts.append(
                f"h{rng.randrange(10**6)}.unknown{rng.randrange(10**4)}.{rng.choice(['com', 'cn', 'io', 'de'])}"
            )

    t = time.perf_counter()
    raw = iptocc.country_code(ips)
    raw_ip = time.perf_counter() - t
    t = time.perf_counter()
    ours = server_countries(ips)
    tv_ip = time.perf_counter() - t
    assert ours == list(raw)

    with tempfile.TemporaryDirectory() as tmp:
        pyasn_db = _pyasn_table(kb, Path(tmp) / "ipasn.dat")
    networks_of(ips[:1], kb)  # the table's first read is loading, not lookup
    t = time.perf_counter()
    raw_asn = [pyasn_db.lookup(ip)[0] for ip in ips]
    raw_as = time.perf_counter() - t
    t = time.perf_counter()
    our_asn = networks_of(ips, kb)
    tv_as = time.perf_counter() - t
    assert our_asn == raw_asn

    # whole attribution (country, AS, its company): techvet's batch call against the two raw
    # libraries' own lookups of the same two facts
    t = time.perf_counter()
    raw_both = list(zip(iptocc.country_code(ips), (pyasn_db.lookup(ip)[0] for ip in ips), strict=True))
    raw_attr = time.perf_counter() - t
    t = time.perf_counter()
    attributed = attribute_ips(ips, kb)
    tv_attr = time.perf_counter() - t
    assert [(a.server_country or None, a.asn) for a in attributed] == [(c or None, n) for c, n in raw_both]

    psl = PublicSuffixList()
    t = time.perf_counter()
    for h in hosts:
        psl.privatesuffix(h)
    raw_host = time.perf_counter() - t
    t = time.perf_counter()
    for h in hosts:
        attribute(h, kb)
    tv_host = time.perf_counter() - t

    print(
        f"IPv4 (1,000,000 random): iptocc batch {_rate(len(ips), raw_ip)}, "
        f"techvet server_countries {_rate(len(ips), tv_ip)}, overhead {tv_ip / raw_ip:.2f}x"
    )
    print(
        f"IPv4 -> AS (1,000,000 random): pyasn lookup {_rate(len(ips), raw_as)}, "
        f"techvet networks_of {_rate(len(ips), tv_as)}, overhead {tv_as / raw_as:.2f}x"
    )
    print(
        f"IPv4 attribution (1,000,000 random): iptocc batch + pyasn {_rate(len(ips), raw_attr)}, "
        f"techvet attribute_ips {_rate(len(ips), tv_attr)}, overhead {tv_attr / raw_attr:.2f}x"
    )
    print(
        f"hosts (100,000): publicsuffixlist privatesuffix {_rate(len(hosts), raw_host)}, "
        f"techvet attribute {_rate(len(hosts), tv_host)}, overhead {tv_host / raw_host:.2f}x"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
