"""Whole app catalogues as a dataset (issue 16): the same rows from the process pool and from a
Dask LocalCluster of 2 workers, an unreadable app as a row with its reason, resuming, a worker
killed mid-run, the sources a run reads, and ``techvet query``."""

from __future__ import annotations

import csv
import hashlib
import json
import os
import shutil
import signal
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from tools.apk_copies import write_copies

from techvet.cli import run
from techvet.dataset import TABLES
from techvet.dataset.build import build_dataset
from techvet.dataset.tables import RUN_COLUMNS, columns
from techvet.dataset.writer import MARKER, part_files
from tests.conftest import FIXTURES

APPS = sorted(p for p in FIXTURES.glob("*") if p.suffix in (".apk", ".apks"))
ROOT = Path(__file__).resolve().parent.parent


def _table(folder: Path, table: str) -> list[dict[str, Any]]:
    files = part_files(folder, table)
    if not files:
        return []
    return pa.concat_tables([pq.read_table(f) for f in files]).to_pylist()


def _comparable(rows: list[dict[str, Any]]) -> list[str]:
    """Rows as sorted strings, without what differs between two runs of the same apps."""
    return sorted(json.dumps({k: v for k, v in r.items() if k not in RUN_COLUMNS}, sort_keys=True, default=str)
                  for r in rows)  # fmt: skip


@pytest.fixture(scope="module")
def apps(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The fixture apps and one corrupted app (a fixture cut in half)."""
    folder = tmp_path_factory.mktemp("apps")
    for app in APPS:
        (folder / app.name).write_bytes(app.read_bytes())
    whole = (FIXTURES / "drone_companion.apk").read_bytes()
    (folder / "corrupted.apk").write_bytes(whole[: len(whole) // 2])
    return folder


@pytest.fixture(scope="module")
def cluster() -> Iterator[str]:
    """A LocalCluster of 2 one-thread workers whose scheduler, like ``--cluster local``, does not
    retry a task whose worker died."""
    import dask
    from distributed import LocalCluster

    with dask.config.set({"distributed.scheduler.allowed-failures": 0}):
        local = LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1", scheduler_port=0,
            dashboard_address="127.0.0.1:0", silence_logs=50,
        )  # fmt: skip
    try:
        yield str(local.scheduler_address)
    finally:
        local.close()


@pytest.fixture(scope="module")
def pair(apps: Path, cluster: str, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, list[int]]:
    """The same apps scanned into a dataset by the process pool and by the cluster (CLI, in-process)."""
    out = tmp_path_factory.mktemp("datasets")
    codes = [
        run(["scan", str(apps), "--format", "parquet", "-o", str(out / "pool"), "-q", "-j", "2"]),
        run(["scan", str(apps), "--format", "parquet", "-o", str(out / "cluster"), "-q", "--cluster", cluster]),
    ]
    return out / "pool", out / "cluster", codes


def test_the_cluster_writes_the_same_dataset_as_the_process_pool_row_for_row(
    pair: tuple[Path, Path, list[int]],
) -> None:
    pool, cluster, codes = pair
    assert codes == [2, 2]  # the corrupted app is unreadable: exit 2 on both
    for table in TABLES:
        assert _comparable(_table(pool, table)) == _comparable(_table(cluster, table)), table
    assert len(_table(pool, "apps")) == len(APPS) + 1
    assert all(len(_table(pool, t)) > 0 for t in TABLES)


def test_the_corrupted_app_is_a_row_with_its_reason(pair: tuple[Path, Path, list[int]], apps: Path) -> None:
    rows = {r["source"]: r for r in _table(pair[1], "apps")}
    bad = rows[str(apps / "corrupted.apk")]
    assert bad["status"] == "unreadable"
    assert bad["sha256"] == hashlib.sha256((apps / "corrupted.apk").read_bytes()).hexdigest()
    assert "corrupted.apk" in bad["error"] and len(bad["error"].splitlines()) == 1
    assert not any(r["sha256"] == bad["sha256"] for t in TABLES if t != "apps" for r in _table(pair[1], t))


def test_rows_say_what_the_fixture_holds(pair: tuple[Path, Path, list[int]], apps: Path) -> None:
    """drone_companion.apk was built with known contents (tests/fixtures/src): its rows in each table."""
    folder = pair[1]
    sha = hashlib.sha256((apps / "drone_companion.apk").read_bytes()).hexdigest()
    app = next(r for r in _table(folder, "apps") if r["sha256"] == sha)
    assert (app["package"], app["version_name"], app["status"]) == ("com.skyfleet.pilot", "4.1.22", "ok")
    hosts = {r["host"]: r for r in _table(folder, "destinations") if r["sha256"] == sha}
    assert hosts["api.skyfleet-demo.cn"]["cleartext"] is True
    assert hosts["api.skyfleet-demo.cn"]["registry_country"] == "CN"
    rules = {r["rule"] for r in _table(folder, "findings") if r["sha256"] == sha}
    assert "TV218" in rules
    (verdict,) = [r for r in _table(folder, "verdicts") if r["sha256"] == sha]
    assert verdict["verdict"] == "fail" and "APP-SIDELOAD" in verdict["decided_by"]
    caps = {r["capability"]: r for r in _table(folder, "capabilities") if r["sha256"] == sha}
    assert caps["remote_install_command"]["rule"] == "TV218"
    for table in TABLES:  # every row carries what it was made with
        for row in _table(folder, table):
            assert row["techvet_version"] and row["knowledge"] and "us-dod-1260h@" in row["lists"]


def test_the_schema_is_the_documented_one(pair: tuple[Path, Path, list[int]]) -> None:
    doc = (ROOT / "docs" / "dataset.md").read_text(encoding="utf-8")
    for table in TABLES:
        written = pq.read_schema(part_files(pair[0], table)[0]).names
        assert written == [name for name, _ in columns(table)]
        section = doc.split(f"### `{table}`", 1)[1].split("### ", 1)[0]
        documented = [line.split("`")[1] for line in section.splitlines() if line.startswith("| `")]
        assert documented == written, table


def test_a_rerun_skips_what_the_dataset_holds_and_adds_only_the_new(apps: Path, tmp_path: Path) -> None:
    out = tmp_path / "ds"
    first = build_dataset([str(p) for p in sorted(apps.iterdir())[:4]], out, jobs=2)
    assert (first.added, first.already) == (4, 0)
    again = build_dataset([str(p) for p in sorted(apps.iterdir())], out, jobs=2)
    assert (again.added, again.already) == (len(APPS) + 1 - 4, 4)
    shas = [r["sha256"] for r in _table(out, "apps")]
    assert len(shas) == len(set(shas)) == len(APPS) + 1
    runs = json.loads((out / MARKER).read_text())["runs"]
    assert [r["apps_added"] for r in runs] == [4, len(APPS) + 1 - 4]


def test_the_same_app_under_two_names_is_one_app(apps: Path, tmp_path: Path) -> None:
    twin = tmp_path / "twin.apk"
    twin.write_bytes((apps / "clean_app.apk").read_bytes())
    tally = build_dataset([str(apps / "clean_app.apk"), str(twin)], tmp_path / "ds", jobs=1)
    assert (tally.added, tally.repeated) == (1, 1)


def test_a_part_left_half_written_is_removed_and_its_apps_done_again(apps: Path, tmp_path: Path) -> None:
    out = tmp_path / "ds"
    build_dataset([str(apps / "clean_app.apk")], out, jobs=1)
    # a run killed between its findings file and its apps file (the commit), and one mid-write
    (out / "findings" / "part-dead-00000.parquet").write_bytes(part_files(out, "findings")[0].read_bytes())
    (out / "sdks" / "part-dead-00001.parquet.partial").write_bytes(b"PAR1")
    tally = build_dataset([str(apps / "clean_app.apk"), str(apps / "drone_companion.apk")], out, jobs=1)
    assert (tally.added, tally.already) == (1, 1)
    assert not (out / "findings" / "part-dead-00000.parquet").exists()
    assert not list((out / "sdks").glob("*.partial"))
    findings = _table(out, "findings")
    assert len({json.dumps(r, default=str) for r in findings}) == len(findings)  # nothing twice


def test_a_worker_killed_mid_run_loses_only_its_apps_and_a_rerun_ends_with_every_app_once(
    cluster: str, tmp_path: Path
) -> None:
    from distributed import Client

    # an app that takes a worker about half a second (60,000 empty assets to list), so that the
    # worker killed is in the middle of one; 20 copies, each its own app
    slow = tmp_path / "slow.apk"
    shutil.copy(FIXTURES / "drone_companion.apk", slow)
    with zipfile.ZipFile(slow, "a") as archive:
        for i in range(60_000):
            archive.writestr(f"assets/padding/{i}", b"")
    copies = write_copies([slow], tmp_path / "many", 20, tag="kill")
    out = tmp_path / "ds"
    with Client(cluster) as client:
        pids = list(client.run(os.getpid).values())
    killed: list[int] = []

    def kill_after_three(items: Iterator[Any]) -> Iterator[Any]:
        for i, item in enumerate(items):
            if i == 3:
                os.kill(pids[0], signal.SIGKILL)  # the worker's own process, mid-run
                killed.append(pids[0])
            yield item

    lines: list[str] = []
    first = build_dataset([str(p) for p in copies], out, cluster=cluster, track=kill_after_three, say=lines.append)
    assert killed
    assert first.not_done >= 1  # what the killed worker held, and nothing else, is missing
    assert first.added + first.not_done == len(copies)
    assert all("a rerun tries it again" in line for line in lines)
    second = build_dataset([str(p) for p in copies], out, cluster=cluster)
    assert (second.already, second.added, second.not_done) == (first.added, first.not_done, 0)
    shas = [r["sha256"] for r in _table(out, "apps")]
    assert sorted(shas) == sorted({hashlib.sha256(p.read_bytes()).hexdigest() for p in copies})
    assert len(shas) == len(set(shas))


def test_local_cluster_from_the_command_line(apps: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = run(["scan", str(apps / "clean_app.apk"), str(apps / "compat.apk"), "--cluster", "local:2", "-f", "json"])
    out = capsys.readouterr().out.splitlines()
    assert code in (0, 1) and [json.loads(line)["app"]["package"] for line in out] == [
        json.loads(line)["app"]["package"] for line in _jsonl(apps, ["clean_app.apk", "compat.apk"])
    ]


def _jsonl(apps: Path, names: list[str]) -> list[str]:
    from techvet.bulk import render_one

    return [render_one(str(apps / n), "json", False).output.strip() for n in names]


# ---- sources -------------------------------------------------------------------------------------


def test_a_run_reads_lists_of_paths_and_urls(apps: Path, tmp_path: Path) -> None:
    names = ["clean_app.apk", "compat.apk", "dormant.apk"]
    text = tmp_path / "apps.txt"
    text.write_text(f"# three apps\n{apps / names[0]}\n\nfile://{apps / names[1]}\n{apps / names[2]}\n")
    table = tmp_path / "apps.csv"
    with table.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["id", "Location"])
        writer.writerows([i, str(apps / n)] for i, n in enumerate(names))
    parquet = tmp_path / "apps.parquet"
    pq.write_table(pa.table({"n": [1, 2, 3], "apk_path": [str(apps / n) for n in names]}), parquet)
    expected = {hashlib.sha256((apps / n).read_bytes()).hexdigest() for n in names}
    for source, extra in ((text, []), (table, []), (parquet, ["--column", "apk_path"])):
        out = tmp_path / f"ds-{source.suffix[1:]}"
        assert run(["scan", str(source), *extra, "-f", "parquet", "-o", str(out), "-q", "-j", "1"]) in (0, 1)
        assert {r["sha256"] for r in _table(out, "apps")} == expected, source


def test_a_missing_entry_is_not_done_and_the_rest_are_scanned(
    apps: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = tmp_path / "apps.txt"
    text.write_text(f"{apps / 'clean_app.apk'}\n{tmp_path / 'gone.apk'}\n{apps / 'compat.apk'}\n")
    assert run(["scan", str(text), "-f", "parquet", "-o", str(tmp_path / "ds"), "-q"]) == 2
    err = capsys.readouterr().err
    assert "gone.apk: cannot read" in err and "a rerun tries it again" in err
    assert len(_table(tmp_path / "ds", "apps")) == 2


@pytest.mark.parametrize(
    ("name", "content", "extra", "said"),
    [
        ("long.txt", "x" * 5000 + "\n", [], "longer than 4096 bytes"),
        ("nul.txt", "a.apk\0\n", [], "NUL byte"),
        ("nocol.csv", "id,name\n1,a\n", [], "give --column"),
        ("wrongcol.csv", "path\na.apk\n", ["--column", "url"], "no column 'url'"),
        ("bad.parquet", "PAR1 not really", [], "not a readable Parquet file"),
    ],
)
def test_a_bad_list_is_one_line_and_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str, content: str, extra: list[str], said: str
) -> None:
    source = tmp_path / name
    source.write_text(content)
    from techvet.cli import main

    with pytest.raises(SystemExit) as exited:
        main(["scan", str(source), *extra, "-f", "json", "-q"])
    err = capsys.readouterr().err
    assert exited.value.code == 2 and said in err and len(err.strip().splitlines()) == 1, err


def test_two_runs_cannot_write_one_dataset(apps: Path, tmp_path: Path) -> None:
    from techvet.dataset.writer import DatasetWriter
    from techvet.errors import TechvetError

    first = DatasetWriter(tmp_path / "ds")
    with pytest.raises(TechvetError, match="another techvet run is writing"):
        DatasetWriter(tmp_path / "ds")
    first.close()
    DatasetWriter(tmp_path / "ds").close()  # free again


def test_a_file_name_that_is_not_utf8_is_kept_readable(apps: Path, tmp_path: Path) -> None:
    folder = tmp_path / "apps"
    folder.mkdir()
    odd = os.path.join(os.fsencode(folder), b"caf\xe9.apk")
    with open(odd, "wb") as handle:
        handle.write((apps / "clean_app.apk").read_bytes())
    tally = build_dataset([os.fsdecode(odd)], tmp_path / "ds", jobs=1)
    assert tally.added == 1
    (row,) = _table(tmp_path / "ds", "apps")
    assert row["source"].endswith("caf\ufffd.apk") and row["status"] == "ok"


def test_a_folder_that_is_not_a_dataset_is_not_written_into(apps: Path, tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(Exception, match="not a techvet dataset"):
        build_dataset([str(apps / "clean_app.apk")], tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt"]


# ---- the cluster's own limits ----------------------------------------------------------------------


def _spin(item: float, shared: Any) -> str:
    end = time.monotonic() + item
    while time.monotonic() < end:  # Python bytecode: where the watchdog's exception lands
        pass
    return "finished"


def test_a_task_over_its_time_is_stopped_in_its_worker() -> None:
    from techvet.many.cluster import _watched
    from techvet.many.outcome import Failed

    started = time.monotonic()
    result = _watched(_spin, 30.0, None, 0.5)
    assert isinstance(result, Failed) and "gave up after 0.5 s" in result.reason
    assert time.monotonic() - started < 5
    assert _watched(_spin, 0.01, None, 5.0) == "finished"


@pytest.mark.parametrize(("spec", "said"), [("local:lots", "local:N takes a number"), ("foo:bar", "not a scheduler")])
def test_an_unknown_cluster_address_is_a_usage_error(capsys: pytest.CaptureFixture[str], spec: str, said: str) -> None:
    from techvet.cli import main

    with pytest.raises(SystemExit) as exited:
        main(["scan", str(FIXTURES / "clean_app.apk"), "--cluster", spec, "-q"])
    err = capsys.readouterr().err
    assert exited.value.code == 2 and said in err and len(err.strip().splitlines()) == 1, err


def _raise_at_deadline(item: float, shared: Any) -> str:
    _spin(item, shared)
    raise ValueError("failed just before its time ran out")


def test_a_task_failing_at_its_deadline_never_lets_the_watchdog_out(monkeypatch: pytest.MonkeyPatch) -> None:
    from techvet.many import cluster
    from techvet.many.outcome import Failed

    real = cluster.internal_error

    def slow_internal_error(exc: BaseException) -> Failed:
        _spin(0.4, None)  # still busy (in Python) when the timer fires
        return real(exc)

    monkeypatch.setattr(cluster, "internal_error", slow_internal_error)
    for _ in range(3):
        result = cluster._watched(_raise_at_deadline, 0.45, None, 0.5)
        assert isinstance(result, Failed) and "failed just before" in result.reason
        _spin(0.2, None)  # a late exception would land here


# ---- query -------------------------------------------------------------------------------------


def test_query_answers_in_text_csv_and_json(
    pair: tuple[Path, Path, list[int]], capsys: pytest.CaptureFixture[str]
) -> None:
    folder = str(pair[0])
    sql = "select status, count(*) as n from apps group by status order by status"
    assert run(["query", folder, sql, "-f", "json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert rows == [{"status": "ok", "n": len(APPS)}, {"status": "unreadable", "n": 1}]
    assert run(["query", folder, sql, "-f", "csv"]) == 0
    assert capsys.readouterr().out.splitlines() == ["status,n", f"ok,{len(APPS)}", "unreadable,1"]
    assert run(["query", folder, sql]) == 0
    text = capsys.readouterr().out.splitlines()
    assert text[0].split() == ["status", "n"] and text[2].split() == ["ok", str(len(APPS))]


def test_the_readme_questions_run(pair: tuple[Path, Path, list[int]], capsys: pytest.CaptureFixture[str]) -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    questions = [block.split("\n", 1)[1].rsplit("\n", 1)[0] for block in readme.split("```sql")[1:]]
    questions = [q.split("```", 1)[0].strip() for q in questions]
    assert len(questions) >= 3
    answers = []
    for sql in questions:
        assert run(["query", str(pair[0]), sql, "-f", "json"]) == 0, sql
        answers.append(json.loads(capsys.readouterr().out))
    # the fixtures answer the second and third: their SDK vendors, and the sideloading drone app
    assert any(row["vendor"] == "Weibo Corp. (Sina)" and row["vendor_country"] == "CN" for row in answers[1])
    assert any(row["package"] == "com.skyfleet.pilot" and row["verdict"] == "fail" for row in answers[2])


@pytest.mark.parametrize(
    ("sql", "said"),
    [
        ("select * from read_csv('/etc/passwd')", "disabled by configuration"),
        ("copy apps to '/tmp/techvet-query-escape.csv'", "disabled by configuration"),
        ("copy (select 'x' as sha256) to 'DATASET/apps/part-evil.parquet'", "disabled by configuration"),
        ("copy (select 'x' as sha256) to 'DATASET/apps/PART'", "disabled by configuration"),
        ("attach 'DATASET/x.duckdb'", "disabled by configuration"),
        ("SET enable_external_access = true", "configuration"),
        ("selec 1", "syntax error"),
    ],
)
def test_a_query_reads_the_dataset_and_nothing_else(
    pair: tuple[Path, Path, list[int]], capsys: pytest.CaptureFixture[str], sql: str, said: str
) -> None:
    from techvet.cli import main

    before = {p: p.read_bytes() for p in pair[0].rglob("*") if p.is_file()}
    sql = sql.replace("DATASET", str(pair[0])).replace("PART", part_files(pair[0], "apps")[0].name)
    with pytest.raises(SystemExit) as exited:
        main(["query", str(pair[0]), sql])
    err = capsys.readouterr().err
    assert exited.value.code == 2 and said in err and len(err.strip().splitlines()) == 1, err
    assert not Path("/tmp/techvet-query-escape.csv").exists()
    assert {p: p.read_bytes() for p in pair[0].rglob("*") if p.is_file()} == before  # nothing written


def test_query_on_a_folder_that_is_not_a_dataset(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from techvet.cli import main

    with pytest.raises(SystemExit) as exited:
        main(["query", str(tmp_path), "select 1"])
    assert exited.value.code == 2 and "not a techvet dataset" in capsys.readouterr().err


# ---- screening in blocks ------------------------------------------------------------------------


def test_screening_in_blocks_on_the_pool_and_the_cluster_equals_one_process(
    cluster: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from techvet.screen import partitioned

    names = ["Huawei Technologies Co., Ltd.", "DJI", "Acme Widgets GmbH", "", "Hikvision", "深圳市大疆创新科技有限公司"]
    source = tmp_path / "suppliers.csv"
    with source.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["name", "country"])
        writer.writerows([names[i % len(names)], "CN"] for i in range(5 * partitioned.BLOCK_ROWS // 4))
    outputs = []
    for extra in ([], ["-j", "2"], ["--cluster", cluster]):
        code = run(["screen", str(source), "-f", "json", "-q", *extra])
        outputs.append((code, capsys.readouterr().out))
    assert outputs[0] == outputs[1] == outputs[2]
    rows = json.loads(outputs[0][1])
    assert outputs[0][0] == 2  # the rows without a name
    assert len(rows) == 5 * partitioned.BLOCK_ROWS // 4
    assert any(m["list"] == "us-bis-entity-list" for m in rows[1]["matches"])


def test_a_remote_url_is_fetched_to_a_temporary_copy_and_named_by_its_url(apps: Path, tmp_path: Path) -> None:
    """fsspec's in-memory filesystem stands in for an object store (the workers are forked after
    the object is written, so they see it)."""
    import fsspec

    fs = fsspec.filesystem("memory")
    fs.pipe("/bucket/drone.apk", (apps / "drone_companion.apk").read_bytes())
    fs.pipe("/bucket/broken.apk", b"PK\x03\x04 not an app")
    lines: list[str] = []
    tally = build_dataset(
        ["memory://bucket/drone.apk", "memory://bucket/broken.apk", "memory://bucket/gone.apk", "nosuch://x.apk"],
        tmp_path / "ds",
        jobs=1,
        say=lines.append,
    )
    assert (tally.added, tally.unreadable, tally.not_done) == (2, 1, 2)
    rows = {r["source"]: r for r in _table(tmp_path / "ds", "apps")}
    assert rows["memory://bucket/drone.apk"]["package"] == "com.skyfleet.pilot"
    assert rows["memory://bucket/broken.apk"]["error"].startswith("memory://bucket/broken.apk")  # not the copy's path
    assert any(line.startswith("memory://bucket/gone.apk: cannot fetch") for line in lines)
    assert any(line.startswith("nosuch://x.apk: cannot fetch") for line in lines)
    assert not list(Path(os.environ.get("TMPDIR", "/tmp")).glob("techvet-fetch-*/drone.apk"))


def test_a_list_that_names_no_app_is_never_an_empty_pass(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from techvet.cli import main

    empty = tmp_path / "apps.txt"
    empty.write_text("# nothing yet\n")
    for extra in (["-f", "json"], ["-f", "parquet", "-o", str(tmp_path / "ds")]):
        with pytest.raises(SystemExit) as exited:
            main(["scan", str(empty), "-q", *extra])
        assert exited.value.code == 2 and "names no app" in capsys.readouterr().err


def test_dask_is_imported_only_when_a_cluster_is_asked_for() -> None:
    import subprocess
    import sys

    code = (
        "import sys; from techvet.cli import run; "
        f"run(['scan', {str(FIXTURES / 'clean_app.apk')!r}, {str(FIXTURES / 'compat.apk')!r}, '-q', '-f', 'json', "
        "'-o', '/dev/null']); print(sorted(m for m in ('dask', 'distributed') if m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert done.stdout.strip() == "[]", done.stderr


def test_an_unreadable_part_is_one_line(apps: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from techvet.cli import main

    out = tmp_path / "ds"
    build_dataset([str(apps / "clean_app.apk")], out, jobs=1)
    part_files(out, "apps")[0].write_bytes(b"PAR1 garbage PAR1")
    for argv in (
        ["scan", str(apps / "compat.apk"), "-f", "parquet", "-o", str(out), "-q"],
        ["query", str(out), "select count(*) from apps"],
    ):
        with pytest.raises(SystemExit) as exited:
            main(argv)
        err = capsys.readouterr().err
        assert exited.value.code == 2 and len(err.strip().splitlines()) == 1, err
