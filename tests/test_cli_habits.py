"""One command line with the same habits everywhere (issue 11, "rough edges"): the same options mean
the same thing in every command, feedback only where a person is watching, and the Python API gives
what the command prints."""

from __future__ import annotations

import json
import os
import pty
import select
import subprocess
import sys
from pathlib import Path

import pytest

import techvet
from tests.conftest import fixture_app

ROOT = Path(__file__).resolve().parents[1]
CAPTURE = ROOT / "tests" / "fixtures" / "captures" / "personal_data.pcap"
FLEET = ROOT / "samples" / "fleet.csv"
APP = str(fixture_app("drone_companion.apk"))


def techvet_cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "techvet", *args],
        capture_output=True,
        text=True,
        timeout=180,
        cwd=ROOT,
        env={**os.environ, **(env or {})},
    )


def in_a_terminal(*args: str, env: dict[str, str] | None = None) -> str:
    """Run techvet with stdout and stderr on a pseudo-terminal, as a person at a terminal would."""
    leader, follower = pty.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-m", "techvet", *args],
        stdout=follower,
        stderr=follower,
        cwd=ROOT,
        env={**os.environ, "TERM": "xterm-256color", "COLUMNS": "160", **(env or {})},
    )
    os.close(follower)
    chunks = []
    while True:
        ready, _, _ = select.select([leader], [], [], 120)
        if not ready:
            break
        try:
            data = os.read(leader, 65536)
        except OSError:  # the child closed the terminal
            break
        if not data:
            break
        chunks.append(data)
    proc.wait(timeout=120)
    os.close(leader)
    return b"".join(chunks).decode("utf-8", "replace")


COMMANDS = {
    "scan": (APP,),
    "traffic": (str(CAPTURE),),
    "diff": (str(fixture_app("clean_app.apk")), str(fixture_app("clean_app_v2.apk"))),
    "screen": ("-n", "DJI"),
    "fleet": (str(FLEET),),
    "whois": ("api.weibo.cn",),
    "lists": ("show",),
    "rules": (),
    "explain": ("TV201",),
}


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_every_command_has_the_common_options(command: str) -> None:
    helptext = techvet_cli(command, "--help").stdout
    for option in ("-f FORMAT", "-o FILE", "-v, --verbose", "-q, --quiet"):
        assert option.split()[0] in helptext, (command, option)
    run = techvet_cli(command, *COMMANDS[command], "-f", "json", "-q")
    assert run.returncode in (0, 1), (command, run.stderr)
    json.loads(run.stdout.splitlines()[0] if command == "scan" else run.stdout)  # JSON everywhere
    assert run.stderr == "", (command, run.stderr)  # -q: no warnings, no summary


@pytest.mark.parametrize(("command", "level", "code"), [
    ("scan", "fail", 1), ("traffic", "fail", 1), ("diff", "fail", 1), ("screen", "match", 1), ("fleet", "review", 1),
    ("scan", "never", 0), ("traffic", "never", 0), ("diff", "never", 0), ("screen", "never", 0), ("fleet", "never", 0),
])  # fmt: skip
def test_every_deciding_command_takes_fail_on(command: str, level: str, code: int) -> None:
    run = techvet_cli(command, *COMMANDS[command], "--fail-on", level, "-q", "-o", os.devnull)
    assert run.returncode == code, (command, level, run.stderr)


@pytest.mark.parametrize(
    ("args", "help_of"),
    [
        (("scan", APP, "--no-such-option"), "techvet scan --help"),
        (("screen", "-n", "DJI", "--threshold", "2"), "techvet screen --help"),
        (("screen",), "techvet screen --help"),
        (("fleet", str(FLEET), "--fail-on", "sometimes"), "techvet fleet --help"),
        (("whois",), "techvet whois --help"),
        (("scan", APP, "--fail-on", "severe"), "techvet scan --help"),
        (("frobnicate",), "techvet --help"),
    ],
)
def test_usage_errors_point_at_the_commands_own_help(args: tuple[str, ...], help_of: str) -> None:
    run = techvet_cli(*args)
    assert run.returncode == 2 and run.stderr.count("\n") == 1 and f"(see {help_of})" in run.stderr, run.stderr


def test_python_dash_m_techvet_is_the_command() -> None:
    run = subprocess.run([sys.executable, "-m", "techvet", "--version"], capture_output=True, text=True, timeout=60)
    assert run.returncode == 0 and run.stdout.startswith("techvet ")


def test_colour_on_a_terminal_and_never_with_no_color_or_in_a_pipe() -> None:
    coloured = in_a_terminal("scan", APP)
    assert "\x1b[" in coloured and "FAIL" in coloured
    assert "\x1b[" not in in_a_terminal("scan", APP, env={"NO_COLOR": "1"})
    assert "\x1b[" not in techvet_cli("scan", APP).stdout
    fleet = in_a_terminal("fleet", str(FLEET))
    assert "\x1b[1;31mGROUND" in fleet  # decisions coloured too


def test_a_progress_bar_on_a_terminal_only(tmp_path: Path) -> None:
    folder = tmp_path / "apps"
    folder.mkdir()
    for name in ("drone_companion.apk", "clean_app.apk", "legu_like.apk"):
        (folder / name).write_bytes(fixture_app(name).read_bytes())
    shown = in_a_terminal("scan", str(folder), "-j", "1", "-o", os.devnull, env={"TECHVET_PROGRESS_DELAY": "0"})
    assert "scanning apps" in shown and "3/3" in shown
    quiet = in_a_terminal("scan", str(folder), "-j", "1", "-q", "-o", os.devnull, env={"TECHVET_PROGRESS_DELAY": "0"})
    assert "scanning apps" not in quiet
    piped = techvet_cli("scan", str(folder), "-j", "1", env={"TECHVET_PROGRESS_DELAY": "0"})
    assert "scanning apps" not in piped.stderr
    # a folder scan ends with a one-line summary on stderr (stdout stays the report)
    assert piped.stderr.strip().splitlines()[-1].startswith("techvet: 3 apps: ")


def test_a_large_inventory_with_empty_rows_is_one_counted_warning(tmp_path: Path) -> None:
    lines = ["Make,Model,Serial,Unit"]
    for i in range(50_000):
        lines.append(f"DJI,Mavic 3E,S{i},Survey" if i % 9 else f",,S{i},Survey")  # 5,556 rows without make/model
    inventory = tmp_path / "big.csv"
    inventory.write_text("\n".join(lines) + "\n", encoding="utf-8")
    run = techvet_cli("fleet", str(inventory), "-f", "csv", "-o", os.devnull)
    problems = [line for line in run.stderr.splitlines() if "no make and no model" in line]
    assert run.returncode == 2 and len(problems) == 4  # three by line number, then one counted line
    assert "5,556 rows in all: no make and no model" in problems[-1]


def test_stale_lists_are_said_once_per_run() -> None:
    run = techvet_cli("screen", "-n", "DJI", "-n", "Huawei", "-n", "Hikvision")
    assert run.stderr.count("older than 90 days") == 1


def test_a_huawei_row_reads_in_a_few_lines_and_verbose_shows_all(tmp_path: Path) -> None:
    run = techvet_cli("screen", "-n", "Huawei Technologies Co. Ltd.")
    lines = [line for line in run.stdout.splitlines() if line.startswith("  ")]
    row = "\n".join(lines)
    assert len(lines) <= 4, run.stdout
    assert "us-bis-entity-list" in lines[0] and "us-fcc-covered" in lines[0] and "us-dod-1260h" in lines[0]
    assert "more listed parties met through 'huawei'" in row and "-v shows them" in row
    verbose = techvet_cli("screen", "-n", "Huawei Technologies Co. Ltd.", "-v").stdout
    assert verbose.count("possible match") > 20
    everything = json.loads(techvet_cli("screen", "-n", "Huawei Technologies Co. Ltd.", "-f", "json").stdout)
    assert len(everything[0]["matches"]) > 20  # JSON keeps every match


def test_a_35_row_supplier_file_reads_in_one_screen(tmp_path: Path) -> None:
    names = ["Huawei Technologies Co. Ltd.", "SZ DJI Technology Co., Ltd.", "Hangzhou Hikvision Digital Technology"]
    names += ["Zhejiang Dahua Technology", "ZTE Corporation", "Hytera Communications"]
    names += [f"Acme Widgets {i} GmbH" for i in range(29)]
    path = tmp_path / "suppliers.csv"
    path.write_text("name\n" + "\n".join(names) + "\n", encoding="utf-8")
    run = techvet_cli("screen", str(path))
    assert run.returncode == 1 and len(run.stdout.splitlines()) <= 50, run.stdout


def test_the_python_api_gives_what_the_command_prints(tmp_path: Path) -> None:
    """techvet.scan/traffic/screen/fleet: each answer's to_dict() is the command's JSON."""
    scan = techvet.scan(APP).to_dict()
    printed = json.loads(techvet_cli("scan", APP, "-f", "json").stdout)
    scan.pop("seconds"), printed.pop("seconds")
    assert scan == printed and scan["verdict"]["verdict"] == "fail"
    assert techvet.traffic(CAPTURE).to_dict() == json.loads(techvet_cli("traffic", str(CAPTURE), "-f", "json").stdout)
    rows = [row.to_dict() for row in techvet.screen(names=["DJI", "华为技术有限公司"])]
    assert rows == json.loads(techvet_cli("screen", "-n", "DJI", "-n", "华为技术有限公司", "-f", "json").stdout)
    fleet = techvet.fleet(FLEET)
    assert fleet.to_dict() == json.loads(techvet_cli("fleet", str(FLEET), "-f", "json").stdout)
    with pytest.raises(techvet.NothingToAnalyseError):
        from tests.capture_builder import header_only_pcap

        techvet.traffic(header_only_pcap(tmp_path / "empty.pcap"))


def test_an_unsigned_app_says_so(tmp_path: Path) -> None:
    from tests.axml_builder import manifest_only_apk

    path = manifest_only_apk(tmp_path / "unsigned.apk", "org.example.unsigned", "Unsigned")
    text = techvet_cli("scan", str(path)).stdout
    assert "signer   not signed" in text
    assert "**not signed: no v1, v2 or v3 signature" in techvet_cli("scan", str(path), "-f", "md").stdout
    assert "<b>not signed: no v1" in techvet_cli("scan", str(path), "-f", "html").stdout
    assert "signer   not signed" not in techvet_cli("scan", APP).stdout
