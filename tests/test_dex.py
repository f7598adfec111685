"""The DEX reader against Debian's dexdump, and the bounded reading primitives."""

from __future__ import annotations

import re
import shutil
import subprocess
import zipfile
from pathlib import Path

import pytest

from techvet.app.axml import parse_axml
from techvet.app.dex import Dex, _uleb128, instructions
from techvet.errors import MalformedAppError
from tests.conftest import fixture_app


def _dex(app: str = "drone_companion.apk") -> Dex:
    with zipfile.ZipFile(fixture_app(app)) as zf:
        return Dex(zf.read("classes.dex"))


def test_uleb128() -> None:
    assert _uleb128(b"\x00", 0) == (0, 1)
    assert _uleb128(b"\x7f", 0) == (127, 1)
    assert _uleb128(b"\x80\x01", 0) == (128, 2)
    assert _uleb128(b"\xe5\x8e\x26", 0) == (624485, 3)
    with pytest.raises(MalformedAppError):
        _uleb128(b"\x80\x80", 0)


def test_sorted_table_lookups() -> None:
    dex = _dex()
    idx = dex.find_string("application/vnd.android.package-archive")
    assert idx is not None and dex.string(idx) == "application/vnd.android.package-archive"
    assert dex.find_string("no such string in this dex") is None
    tidx = dex.find_type("Landroid/telephony/TelephonyManager;")
    assert tidx is not None and dex.type_name(tidx) == "Landroid/telephony/TelephonyManager;"
    methods = dex.find_methods("Landroid/telephony/TelephonyManager;", ["getDeviceId", "getSubscriberId"])
    assert sorted(methods.values()) == ["getDeviceId", "getSubscriberId"]


def test_sites_are_confirmed_instructions() -> None:
    dex = _dex()
    methods = dex.find_methods("Landroid/telephony/TelephonyManager;", ["getDeviceId"])
    sites = dex.find_sites(invoke=methods)
    (found,) = sites.values()
    assert [(s.class_name, s.method_name) for s in found] == [("Lcom/mob/tools/utils/DeviceHelper;", "getIMEI")]
    body = dex.body(found[0])
    assert (found[0].offset - found[0].body) in {pc for _, pc in instructions(body)}


@pytest.mark.skipif(shutil.which("dexdump") is None, reason="Debian dexdump not installed")
def test_defined_classes_match_dexdump(tmp_path: Path) -> None:
    with zipfile.ZipFile(fixture_app("drone_companion.apk")) as zf:
        (tmp_path / "classes.dex").write_bytes(zf.read("classes.dex"))
    out = subprocess.run(["dexdump", str(tmp_path / "classes.dex")], capture_output=True, text=True).stdout
    expected = set(re.findall(r"Class descriptor\s+:\s+'([^']+)'", out))
    assert set(_dex().defined_classes) == expected


def test_truncated_dex_is_refused() -> None:
    with zipfile.ZipFile(fixture_app("clean_app.apk")) as zf:
        data = zf.read("classes.dex")
    with pytest.raises(MalformedAppError):
        Dex(data[: len(data) // 2])
    with pytest.raises(MalformedAppError):
        Dex(b"not a dex at all" * 10)


def test_manifest_attributes_resolved_by_resource_id() -> None:
    with zipfile.ZipFile(fixture_app("drone_companion.apk")) as zf:
        root = parse_axml(zf.read("AndroidManifest.xml"))
    assert root.tag == "manifest" and root.attrs["package"] == "com.skyfleet.pilot"
    app = root.find("application")
    assert app is not None and app.attrs["usesCleartextTraffic"] is True and app.attrs["allowBackup"] is True


def test_code_search_windows_do_not_lose_sites_at_boundaries(monkeypatch: pytest.MonkeyPatch) -> None:
    import techvet.app.dex as dex_module

    dex = _dex()
    wanted = dex.find_methods("Landroid/telephony/TelephonyManager;", ["getDeviceId", "getSubscriberId"])
    strings = [i for i in (dex.find_string("top -d 0 -n 1"), dex.find_string("/system/xbin/su")) if i is not None]
    whole = dex.find_sites(invoke=wanted, const_string=strings)
    for window in (3, 7, 64):
        monkeypatch.setattr(dex_module, "_WINDOW_UNITS", window)
        assert _dex().find_sites(invoke=wanted, const_string=strings) == whole
    assert sum(len(v) for v in whole.values()) == 4
