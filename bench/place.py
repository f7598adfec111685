#!/usr/bin/env python3
"""Benchmark techvet's offline attribution against the raw lookup libraries, in the same run.

    python bench/place.py            (make bench-place)

IPs: 1 M random IPv4 addresses through ``techvet.place.server_countries`` and through iptocc's own
batch call. Hosts: 100 k host names (owned, cloud-region, ccTLD and unknown ones) through
``techvet.place.attribute`` (registrable domain, owner, owner's country, cloud region) and through
the publicsuffixlist package's registrable-domain lookup alone. Prints lookups per second and
techvet's overhead over each raw library.
"""

from __future__ import annotations

import random
import sys
import time


def _rate(n: int, seconds: float) -> str:
    return f"{n / seconds:,.0f}/s"


def main() -> int:
    import iptocc
    from publicsuffixlist import PublicSuffixList

    from techvet.knowledge import load
    from techvet.place import attribute, server_countries

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
        f"hosts (100,000): publicsuffixlist privatesuffix {_rate(len(hosts), raw_host)}, "
        f"techvet attribute {_rate(len(hosts), tv_host)}, overhead {tv_host / raw_host:.2f}x"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
