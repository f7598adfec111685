#!/usr/bin/env python3
"""Build src/techvet/knowledge/data/tls_suites.json: TLS cipher suite number -> IANA name.

    python tools/build_tls_suites.py        (needs Debian's tshark)

The names are those of the IANA "TLS Cipher Suites" registry as Wireshark carries them
(``tshark -G values``, field tls.handshake.ciphersuite). Which suites are weak is decided from
the names by the patterns in traffic.yaml, not here.
"""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

DATA = Path(__file__).resolve().parent.parent / "src/techvet/knowledge/data"


def main() -> None:
    version = subprocess.run(["tshark", "-v"], capture_output=True, text=True).stdout.splitlines()[0]
    found = re.search(r"\d+\.\d+\.\d+", version)
    release = found.group(0) if found else "?"
    values = subprocess.run(["tshark", "-G", "values"], capture_output=True, text=True).stdout
    suites = {}
    for line in values.splitlines():
        parts = line.split("\t")
        if len(parts) == 4 and parts[0] == "V" and parts[1] == "tls.handshake.ciphersuite":
            suites[int(parts[2])] = parts[3]
    doc = {
        "source": f"IANA TLS Cipher Suites registry names as carried by Wireshark {release} (tshark -G values)",
        "as_of": "2026-11-27",
        "suites": {str(k): v for k, v in sorted(suites.items())},
    }
    (DATA / "tls_suites.json").write_text(json.dumps(doc, indent=0) + "\n", encoding="utf-8")
    print(f"{len(suites)} suites -> {DATA / 'tls_suites.json'}")


if __name__ == "__main__":
    main()
