"""Personal data in captured requests: the labelled synthetic capture, masking, placeholders."""

from __future__ import annotations

import json
import subprocess
import sys

import yaml

from techvet.traffic.personal import luhn, mask
from tests.personal_data_scores import CAPTURE, DEVICE, score


def test_labelled_fields_precision_and_recall() -> None:
    precision, recall, fields, _ = score(yaml.safe_load(DEVICE.read_text()))
    assert fields >= 200 and precision >= 0.95 and recall >= 0.95


def test_hashed_identifiers_need_the_device_file() -> None:
    with_device = score(yaml.safe_load(DEVICE.read_text())).recall
    without = score(None).recall
    assert without < with_device  # the hashed fields are found only when the device's values are given


def test_every_output_is_masked() -> None:
    device = yaml.safe_load(DEVICE.read_text())
    run = subprocess.run(
        [sys.executable, "-m", "techvet.cli", "traffic", str(CAPTURE), "-f", "json", "--device", str(DEVICE)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    doc = json.loads(run.stdout)
    assert any(f["rule"] == "TV711" for f in doc["findings"])
    text = (
        run.stdout
        + subprocess.run(
            [sys.executable, "-m", "techvet.cli", "traffic", str(CAPTURE)], capture_output=True, text=True, timeout=60
        ).stdout
    )
    for value in device.values():
        assert str(value) not in text
    payload = CAPTURE.read_bytes()
    for token in (b"@example.cn", b"460"):
        assert token in payload  # the capture holds them ...
    assert "@example.cn" not in text.replace("***@***e.cn", "")  # ... the report does not


def test_luhn_and_mask() -> None:
    assert luhn("490154203237518") and not luhn("490154203237519")
    assert mask("490154203237518") == "49***********18" and mask("user7@example.cn") == "u***@***e.cn"


def test_placeholders_and_unrelated_fields_are_not_personal_data() -> None:
    from techvet.knowledge import _read, load
    from techvet.traffic.personal import Detector

    detector = Detector(_read(load().directory, "personal_data.yaml"))
    assert detector.kind_of("bssid", "02:00:00:00:00:00") is None
    assert detector.kind_of("order_no", "490154203237518") is None  # passes Luhn, but an order number
    assert detector.kind_of("imei", "490154203237518") == "imei"
    assert detector.kind_of("X-Lat", "39.904200") == "location"
    assert detector.kind_of("ssid", "Office WiFi") == "ssid"
