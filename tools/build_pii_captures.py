#!/usr/bin/env python3
"""Build the synthetic capture with known personal data, and its labels.

    python tools/build_pii_captures.py

Writes tests/fixtures/captures/personal_data.pcap (cleartext HTTP requests built with dpkt, one per
TCP connection) and tests/data/personal_data_labels.tsv: for every field sent, the request number,
the place (url, form, json, header, cookie), the field name, and the identifier it holds or
"none". Positives cover every identifier kind in every form (plain, URL-encoded, base64, hex, and
MD5/SHA-1/SHA-256 of the test device's values in tests/fixtures/captures/device.yaml); negatives
are look-alikes: order numbers that pass the Luhn check, 15-digit timestamps, request UUIDs,
hashes of nothing in particular, Android's placeholder MAC and ANDROID_ID, coordinates-shaped
prices. Deterministic (seed 20261127); the values are invented.
"""

from __future__ import annotations

import base64
import csv
import hashlib
import json
import random
from pathlib import Path
from urllib.parse import quote, urlencode

import dpkt
import yaml

ROOT = Path(__file__).resolve().parent.parent
CAPTURE = ROOT / "tests/fixtures/captures/personal_data.pcap"
LABELS = ROOT / "tests/data/personal_data_labels.tsv"
DEVICE = ROOT / "tests/fixtures/captures/device.yaml"


def luhn_complete(stem: str) -> str:
    for d in "0123456789":
        number = stem + d
        total = 0
        for i, ch in enumerate(reversed(number)):
            n = int(ch) * (2 if i % 2 else 1)
            total += n - 9 if n > 9 else n
        if total % 10 == 0:
            return number
    raise AssertionError(stem)


def main() -> None:
    rng = random.Random(20261127)
    device = {
        "imei": luhn_complete("35" + "".join(rng.choice("0123456789") for _ in range(12))),
        "android_id": "".join(rng.choice("0123456789abcdef") for _ in range(16)),
        "mac": ":".join(f"{rng.randrange(256):02x}" for _ in range(6)).replace("0", "a", 1),
        "advertising_id": "3f2a9c1e-7b4d-4e8a-9c2f-1a2b3c4d5e6f",
    }
    DEVICE.parent.mkdir(parents=True, exist_ok=True)
    DEVICE.write_text(
        "# the synthetic test device's identifiers (invented)\n" + yaml.safe_dump(device), encoding="utf-8"
    )

    def imei() -> str:
        return luhn_complete("86" + "".join(rng.choice("0123456789") for _ in range(12)))

    def digits(n: int) -> str:
        return "".join(rng.choice("0123456789") for _ in range(n))

    positives = [
        ("imei", "imei", imei), ("imei", "deviceId", imei), ("imei", "device_id", imei),
        ("imsi", "imsi", lambda: "460" + digits(12)), ("imsi", "subscriberId", lambda: "310" + digits(12)),
        ("iccid", "iccid", lambda: luhn_complete("8986" + digits(15))),
        ("iccid", "sim", lambda: luhn_complete("8944" + digits(14))),
        ("mac", "mac", lambda: ":".join(f"{rng.randrange(16, 256):02x}" for _ in range(6))),
        ("mac", "wifi_mac", lambda: "-".join(f"{rng.randrange(16, 256):02X}" for _ in range(6))),
        ("bssid", "bssid", lambda: ":".join(f"{rng.randrange(16, 256):02x}" for _ in range(6))),
        ("ssid", "ssid", lambda: rng.choice(["HomeNet-5G", "TP-LINK_3F2A", "ChinaNet-xyz", "Office WiFi"])),
        ("android_id", "android_id", lambda: "".join(rng.choice("0123456789abcdef") for _ in range(16))),
        ("advertising_id", "gaid", lambda: f"{rng.getrandbits(32):08x}-1a2b-4c3d-8e9f-{rng.getrandbits(48):012x}"),
        ("advertising_id", "oaid", lambda: f"{rng.getrandbits(32):08x}-aaaa-4bbb-9ccc-{rng.getrandbits(48):012x}"),
        ("phone", "phone", lambda: "1" + rng.choice("3456789") + digits(9)),
        ("phone", "msisdn", lambda: "+4477" + digits(8)),
        ("email", "email", lambda: f"user{rng.randrange(1000)}@example.cn"),
        ("email", "contact", lambda: f"pilot{rng.randrange(1000)}@mail.example.org"),
        ("location", "lat", lambda: f"{rng.uniform(20, 45):.6f}"),
        ("location", "lng", lambda: f"{rng.uniform(100, 125):.6f}"),
        ("location", "location", lambda: f"{rng.uniform(20, 45):.5f},{rng.uniform(100, 125):.5f}"),
        ("installed_apps", "applist", lambda: "com.tencent.mm,com.sina.weibo,com.eg.android.AlipayGphone,dji.go.v4"),
    ]  # fmt: skip
    negatives = [
        ("order_no", lambda: luhn_complete("86" + digits(12))),  # passes Luhn, but an order number
        ("orderId", lambda: luhn_complete("35" + digits(12))),
        ("ts", lambda: digits(15)),
        ("timestamp", lambda: "1650284179" + digits(5)),
        ("request_id", lambda: f"{rng.getrandbits(32):08x}-1111-4222-8333-{rng.getrandbits(48):012x}"),
        ("sign", lambda: hashlib.md5(digits(8).encode()).hexdigest()),
        ("token", lambda: base64.b64encode(digits(20).encode()).decode()),
        ("bssid", lambda: "02:00:00:00:00:00"),  # Android's placeholder
        ("android_id", lambda: "9774d56d682e549c"),  # the emulator's well-known ID
        ("imei", lambda: "000000000000000"),
        ("price", lambda: f"{rng.uniform(10, 99):.4f}"),
        ("version", lambda: "4.3.37"),
        ("lang", lambda: "zh_CN"),
        ("channel", lambda: "huawei"),
        ("sdk", lambda: "android_1.3.3"),
        ("serial_no", lambda: digits(15)),  # 15 digits, no check digit and a name that says nothing
    ]
    rows = []
    requests = []
    places = ["url", "form", "json", "header", "cookie"]
    forms = ["plain", "plain", "urlencoded", "base64", "hex"]
    n = 0
    while len(rows) < 260:
        place = places[n % len(places)]
        fields = []
        for _ in range(3):
            kind, key, make = rng.choice(positives)
            value, form = make(), rng.choice(forms)
            if place in ("header", "cookie") and form == "urlencoded":
                form = "plain"
            fields.append((key, _encode(value, form), kind))
        for _ in range(2):
            key, make = rng.choice(negatives)
            fields.append((key, make(), "none"))
        if n % 7 == 0:  # the test device's own identifiers, hashed
            which = rng.choice(list(device))
            algorithm = rng.choice(["md5", "sha1", "sha256"])
            fields.append((f"h_{which}", hashlib.new(algorithm, device[which].encode()).hexdigest(), which))
        seen = set()
        fields = [f for f in fields if not (f[0] in seen or seen.add(f[0]))]  # one value per name in a request
        requests.append(_request(place, fields, n))
        # a header is named as it is sent (X-imei), and read back lower-cased
        rows.extend((n, place, f"x-{key}".lower() if place == "header" else key, kind) for key, _, kind in fields)
        n += 1
    _write(requests)
    with LABELS.open("w", encoding="utf-8", newline="") as handle:
        handle.write("# built by tools/build_pii_captures.py: request (0-based), place, field, what it holds\n")
        writer = csv.writer(handle, delimiter="\t", lineterminator="\n")
        writer.writerow(["request", "place", "field", "kind"])
        writer.writerows(rows)
    positives_n = sum(1 for r in rows if r[3] != "none")
    print(f"{len(requests)} requests, {len(rows)} fields ({positives_n} positive) -> {CAPTURE}, {LABELS}")


def _encode(value: str, form: str) -> str:
    if form == "urlencoded":
        return quote(value, safe="")
    if form == "base64":
        return base64.b64encode(value.encode()).decode()
    if form == "hex":
        return value.encode().hex()
    return value


def _request(place: str, fields: list[tuple[str, str, str]], n: int) -> bytes:
    pairs = [(k, v) for k, v, _ in fields]
    path, headers, body = (
        f"/api/v{n % 3 + 1}/report",
        {"Host": f"collect{n % 4}.example-sdk.cn", "User-Agent": "okhttp/3.12.0"},
        b"",
    )
    if place == "url":
        path += "?" + urlencode(pairs)
    elif place == "form":
        body = urlencode(pairs).encode()
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    elif place == "json":
        body = json.dumps({"device": dict(pairs), "v": 2}).encode()
        headers["Content-Type"] = "application/json"
    elif place == "header":
        headers.update({f"X-{k}": v for k, v in pairs})
    else:
        headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in pairs)
    method = "POST" if body else "GET"
    if body:
        headers["Content-Length"] = str(len(body))
    head = f"{method} {path} HTTP/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers.items()) + "\r\n"
    return head.encode() + body


def _write(requests: list[bytes]) -> None:
    CAPTURE.parent.mkdir(parents=True, exist_ok=True)
    with CAPTURE.open("wb") as handle:
        writer = dpkt.pcap.Writer(handle)
        t = 1764201600.0
        for i, payload in enumerate(requests):
            client, server, sport = bytes([10, 0, 0, 2]), bytes([203, 0, 113, 10 + i % 4]), 40000 + i
            seq = 1000 + i * 7919
            for flags, data, s in ((dpkt.tcp.TH_SYN, b"", seq), (dpkt.tcp.TH_ACK | dpkt.tcp.TH_PUSH, payload, seq + 1)):
                tcp = dpkt.tcp.TCP(sport=sport, dport=80, seq=s, flags=flags, data=data)
                ip = dpkt.ip.IP(src=client, dst=server, p=6, data=tcp)
                ip.len = len(bytes(ip))
                eth = dpkt.ethernet.Ethernet(src=b"\x02" * 6, dst=b"\x04" * 6, type=dpkt.ethernet.ETH_TYPE_IP, data=ip)
                writer.writepkt(bytes(eth), ts=t)
                t += 0.01


if __name__ == "__main__":
    main()
