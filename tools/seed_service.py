#!/usr/bin/env python3
"""Upload sample files to a running `techvet serve` (what `make serve` does on first start).

    python tools/seed_service.py --url http://127.0.0.1:8000 --token-file techvet-data.token \
        --app tests/fixtures/apps/drone_companion.apk --fleet samples/fleet.csv

Waits (30 s at most) for the service to answer its health check, then uploads each file and prints
the job it became. Only the standard library, so it runs with any Python.
"""

from __future__ import annotations

import argparse
import json
import time
import urllib.request
import uuid
from pathlib import Path


def _upload(url: str, token: str, collection: str, path: Path) -> dict[str, object]:
    boundary = uuid.uuid4().hex
    body = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{path.name}"\r\n'
            "Content-Type: application/octet-stream\r\n\r\n"
        ).encode()
        + path.read_bytes()
        + f"\r\n--{boundary}--\r\n".encode()
    )
    request = urllib.request.Request(
        f"{url}/api/v1/{collection}", body, method="POST",
        headers={"Authorization": f"Bearer {token}", "Content-Type": f"multipart/form-data; boundary={boundary}"},
    )  # fmt: skip
    with urllib.request.urlopen(request, timeout=30) as answer:  # noqa: S310 - the local service
        return dict(json.load(answer))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--url", default="http://127.0.0.1:8000")
    ap.add_argument("--token-file", type=Path, required=True)
    ap.add_argument("--app", type=Path, action="append", default=[])
    ap.add_argument("--fleet", type=Path, action="append", default=[])
    args = ap.parse_args()
    deadline = time.monotonic() + 30
    while True:
        try:
            with urllib.request.urlopen(f"{args.url}/api/v1/health", timeout=2):  # noqa: S310
                break
        except OSError:
            if time.monotonic() > deadline:
                print(f"no service at {args.url}")
                return 1
            time.sleep(0.3)
    token = args.token_file.read_text().strip()
    for collection, paths in (("apps", args.app), ("fleets", args.fleet)):
        for path in paths:
            job = _upload(args.url, token, collection, path)
            print(f"seeded {path} as job {job['job']} ({args.url}{job['status']})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
