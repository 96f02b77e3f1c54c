"""filesystemPerformance: fio's options as troubleshoot builds them, run through a stand-in fio on
PATH that records its arguments and answers with fio's JSON."""
from __future__ import annotations

import json

import pytest

from reconciler.collect import Skipped
from reconciler.collect.host.fsperf import fio_options

from .test_host_shapes import assert_written, collect
from .test_host_system import fake_tool

FIO_JSON = {"fio version": "fio-3.36", "timestamp": 1700000000, "time": "Tue Nov 14 22:13:20 2023",
            "global options": {"directory": "x"},
            "jobs": [{"jobname": "fsperf", "sync": {"lat_ns": {"percentile": {"99.000000": 1000}}}}],
            "unknown to troubleshoot": 1}


def test_fio_gets_troubleshoots_options():
    assert fio_options({"directory": "/var/lib/etcd", "fileSize": "22Mi", "operationSize": 2300}) == [
        "--rw=write", "--ioengine=sync", "--fdatasync=1", "--directory=/var/lib/etcd", f"--size={22 * 1024 * 1024}",
        "--bs=2300", "--name=fsperf", "--runtime=120", "--output-format=json"]
    assert "--runtime=120" not in fio_options({"directory": "d", "runTime": "0"})
    assert "--runtime=30" in fio_options({"directory": "d", "runTime": "30"})
    with pytest.raises(ValueError, match="Directory is required"):
        fio_options({})


def test_the_benchmark_writes_fios_result_and_removes_its_work_file(tmp_path):
    env = fake_tool(tmp_path, "fio", f"echo \"$@\" > {tmp_path}/args; : > {tmp_path}/etcd/fsperf.0.0; "
                                     f"echo 'fio: note' >&2; cat <<'EOF'\n{json.dumps(FIO_JSON)}\nEOF")
    collect("filesystemPerformance", tmp_path / "out", ctx_env=env, directory=str(tmp_path / "etcd"),
            collectorName="etcd")
    written = assert_written(tmp_path / "out", "filesystemPerformance", "host-collectors/filesystemPerformance/etcd.json")
    assert written == {k: v for k, v in FIO_JSON.items() if k != "unknown to troubleshoot"}
    assert (tmp_path / "out/host-collectors/filesystemPerformance/etcd-stderr.txt").read_text() == "fio: note\n"
    assert (tmp_path / "etcd").stat().st_mode & 0o777 == 0o700 and not (tmp_path / "etcd/fsperf.0.0").exists()
    assert f"--directory={tmp_path / 'etcd'}" in (tmp_path / "args").read_text()


def test_without_fio_it_is_skipped_and_a_failing_fio_fails_it(tmp_path):
    with pytest.raises(Skipped, match="fio is not installed"):
        collect("filesystemPerformance", tmp_path / "out", ctx_env={"PATH": str(tmp_path / "none")},
                directory=str(tmp_path / "d"))
    env = fake_tool(tmp_path, "fio", "echo 'fio: permission denied' >&2; exit 1")
    with pytest.raises(RuntimeError, match="permission denied opening"):
        collect("filesystemPerformance", tmp_path / "out", ctx_env=env, directory=str(tmp_path / "d"))
    with pytest.raises(ValueError, match="enableBackgroundIOPS"):
        collect("filesystemPerformance", tmp_path / "out", ctx_env=env, directory="d", enableBackgroundIOPS=True)
