#!/usr/bin/env python3
"""Rebuild techvet's IP -> autonomous system table from the ip-location-db ASN package.

    npm pack @ip-location-db/asn@2.3.2026061719     (the pinned release; needs the npm registry)
    python tools/build_asn.py ip-location-db-asn-2.3.2026061719.tgz [OUT_DIR]

The package merges RouteViews' BGP table, the five regional registries' delegation files (NRO) and
DB-IP's "IP to ASN Lite" organisation names, all CC BY 4.0. Out of its numeric CSVs this writes:

- ``ip_asn.npz``: for IPv4 and IPv6, sorted range starts with the AS number announcing each range
  (0 marks a gap no source covers); IPv4 starts are stored as deltas and IPv6 starts as two 64-bit
  halves (2.8 MB for the 2026-06-17 data, where the numeric CSVs gzip to 11 MB);
  and the organisation name of every AS number (sorted numbers, name end offsets, one UTF-8 blob:
  loading it is one array read, not a parse of 90 k JSON strings);
- ``ip_asn.json``: the source, the package version and its sha256, and the date (``as_of``) reports
  show.

Overlapping input ranges keep the earlier one (the package lists one overlap in its IPv4 data).
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import sys
import tarfile
from pathlib import Path

import numpy as np

DATA = Path(__file__).resolve().parent.parent / "src/techvet/knowledge/data"
MASK64 = (1 << 64) - 1


def _table(text: str) -> tuple[list[int], list[int], dict[int, str]]:
    """Range starts (gaps included, asn 0) and AS numbers from a numeric CSV."""
    rows = sorted((int(a), int(b), int(asn), name) for a, b, asn, name in csv.reader(io.StringIO(text)))
    starts: list[int] = []
    asns: list[int] = []
    names: dict[int, str] = {}
    prev_end = -1
    for first, last, asn, name in rows:
        first = max(first, prev_end + 1)
        if first > last:
            continue
        if first > prev_end + 1:
            starts.append(prev_end + 1)
            asns.append(0)
        starts.append(first)
        asns.append(asn)
        names[asn] = name
        prev_end = last
    starts.append(prev_end + 1)  # the end of the last range: a gap to the end of the space
    asns.append(0)
    return starts, asns, names


def main(tarball: str, out: Path = DATA) -> None:
    raw = Path(tarball).read_bytes()
    with tarfile.open(fileobj=io.BytesIO(raw)) as tar:

        def member(name: str) -> str:
            handle = tar.extractfile(f"package/{name}")
            assert handle is not None, name
            return handle.read().decode("utf-8")

        meta = json.loads(member("package.json"))
        v4_starts, v4_asns, names = _table(member("asn-ipv4-num.csv"))
        v6_starts, v6_asns, v6_names = _table(member("asn-ipv6-num.csv"))
    names.update(v6_names)
    v4 = np.array(v4_starts, dtype=np.uint64)
    if int(v4[-1]) > 0xFFFFFFFF:  # the closing gap after 255.255.255.255 is not stored
        v4, v4_asns = v4[:-1], v4_asns[:-1]
    numbers = sorted(names)
    encoded = [names[asn].encode("utf-8") for asn in numbers]
    np.savez_compressed(
        out / "ip_asn.npz",
        v4_delta=np.diff(v4, prepend=0).astype(np.uint32),
        v4_asn=np.array(v4_asns, dtype=np.uint32),
        v6_hi=np.array([s >> 64 for s in v6_starts], dtype=np.uint64),
        v6_lo=np.array([s & MASK64 for s in v6_starts], dtype=np.uint64),
        v6_asn=np.array(v6_asns, dtype=np.uint32),
        name_asn=np.array(numbers, dtype=np.uint32),
        name_end=np.cumsum([len(e) for e in encoded], dtype=np.uint32),
        name_blob=np.frombuffer(b"".join(encoded), dtype=np.uint8),
    )
    version = meta["version"]
    stamp = version.split(".")[2]  # versions are 2.3.YYYYMMDDHH
    doc = {
        "source": (
            f"{meta['name']} {version} (sapics/ip-location-db): RouteViews BGP data, the NRO's registry "
            "delegation data and DB-IP's IP to ASN Lite names (https://db-ip.com), each CC BY 4.0"
        ),
        "as_of": f"{stamp[:4]}-{stamp[4:6]}-{stamp[6:8]}",
        "licence": "CC BY 4.0: RouteViews, NRO, DB-IP (see IP-ASN-LICENSE.txt)",
        "package_sha256": hashlib.sha256(raw).hexdigest(),
        "ipv4_ranges": len(v4_asns),
        "ipv6_ranges": len(v6_asns),
        "networks": len(names),
    }
    (out / "ip_asn.json").write_text(json.dumps(doc, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    print(f"{len(v4_asns)} IPv4 and {len(v6_asns)} IPv6 ranges, {len(names)} networks -> {out}")


if __name__ == "__main__":
    main(sys.argv[1], Path(sys.argv[2]) if len(sys.argv) > 2 else DATA)
