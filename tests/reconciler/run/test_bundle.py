"""Bundle naming, troubleshoot's metadata files, and the streaming archive."""
from __future__ import annotations

import errno
import hashlib
import os
import resource
import signal
import stat
import subprocess
import sys
import tarfile
import threading
import zlib
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone

from reconciler.collect import CollectorSpec, Output
from reconciler.collect.runner import Outcome
from reconciler.run import bundle

NOW = datetime(2026, 11, 23, 14, 5, 9, tzinfo=timezone.utc)


def test_names_are_utc_seconds_with_suffixes_for_the_same_second():
    assert bundle.bundle_name(NOW, set()) == "support-bundle-2026-11-23T14_05_09"
    taken = {"support-bundle-2026-11-23T14_05_09", "support-bundle-2026-11-23T14_05_09-1"}
    assert bundle.bundle_name(NOW, taken) == "support-bundle-2026-11-23T14_05_09-2"


def test_a_claim_passes_over_staging_dirs_and_archives_of_the_same_second(tmp_path):
    directory = tmp_path / "b"
    first, staging = bundle.claim(directory, NOW)
    assert first == "support-bundle-2026-11-23T14_05_09" and staging == directory / f".staging-{first}"
    assert staging.is_dir() and stat.S_IMODE(staging.stat().st_mode) == 0o700
    (directory / "support-bundle-2026-11-23T14_05_09-1.tar.gz.age").write_bytes(b"")   # a finished run's
    (directory / "support-bundle-2026-11-23T14_05_09-2.tar.gz").symlink_to(tmp_path / "nowhere")
    assert bundle.claim(directory, NOW)[0] == "support-bundle-2026-11-23T14_05_09-3"
    assert sorted(p.name for p in directory.iterdir()) == [
        ".staging-support-bundle-2026-11-23T14_05_09", ".staging-support-bundle-2026-11-23T14_05_09-3",
        "support-bundle-2026-11-23T14_05_09-1.tar.gz.age", "support-bundle-2026-11-23T14_05_09-2.tar.gz"]


def test_runs_claiming_names_in_one_second_all_at_once_get_distinct_names(tmp_path):
    """The race of 18 concurrent runs that left 17 bundles: choosing a name, then creating it."""
    count = 16
    start = threading.Barrier(count)

    def one(_: int) -> str:
        start.wait()
        return bundle.claim(tmp_path / "b", NOW)[0]

    with ThreadPoolExecutor(count) as pool:
        names = list(pool.map(one, range(count)))
    assert len(set(names)) == count
    assert {p.name for p in (tmp_path / "b").iterdir()} == {f".staging-{name}" for name in names}


def test_summary_reads_like_troubleshoots():
    outcomes = [Outcome(CollectorSpec("cpu", {}, True), "succeeded", None, 12),
                Outcome(CollectorSpec("run", {"collectorName": "uptime"}, True), "failed", "x", 1500),
                Outcome(CollectorSpec("clusterInfo", {}, False), "skipped", "y", 0)]
    text = bundle.summary(outcomes, redaction_ms=7, duration_ms=2000)
    assert text.splitlines()[:6] == [
        "============ Collectors summary =============", "Succeeded (S), eXcluded (X), Failed (F)",
        "=============================================", "run/uptime (F)  : 1,500ms", "cpu (S)         : 12ms",
        "clusterInfo (X) : 0ms"]
    assert text.endswith("Duration: 2,000ms\n")


def test_the_archive_has_one_top_directory_and_a_true_hash(tmp_path):
    staging = tmp_path / "support-bundle-x"
    out = Output(staging)
    out.write_text("host-collectors/system/cpu.json", "{}")
    bundle.write_metadata(out, [], redaction_ms=0, duration_ms=1)
    made = bundle.archive(staging, tmp_path / "out" / "support-bundle-x.tar.gz")
    data = made.path.read_bytes()
    assert made.size == len(data) and made.sha256 == hashlib.sha256(data).hexdigest()
    assert oct(made.path.stat().st_mode & 0o777) == "0o600"
    with tarfile.open(made.path) as tar:
        names = sorted(tar.getnames())
        assert names == ["support-bundle-x", "support-bundle-x/analysis.json", "support-bundle-x/execution-data",
                         "support-bundle-x/execution-data/summary.txt", "support-bundle-x/host-collectors",
                         "support-bundle-x/host-collectors/system", "support-bundle-x/host-collectors/system/cpu.json",
                         "support-bundle-x/version.yaml"]
        assert {m.uid for m in tar.getmembers()} == {0}
        assert tar.extractfile("support-bundle-x/version.yaml").read().decode().startswith(
            "apiVersion: troubleshoot.sh/v1beta2\nkind: SupportBundle\n")
    assert [p.name for p in (tmp_path / "out").iterdir()] == ["support-bundle-x.tar.gz"]


def gzip_members(data: bytes) -> int:
    """How many gzip members follow each other in `data` (RFC 1952 allows several in one file)."""
    count = 0
    while data:
        inflate = zlib.decompressobj(31)
        inflate.decompress(data)
        assert inflate.eof, "a truncated gzip member"
        data, count = inflate.unused_data, count + 1
    return count


def test_a_large_bundle_is_several_gzip_members_that_tar_gzip_and_tarfile_read_as_one(tmp_path):
    staging = tmp_path / "support-bundle-x"
    out = Output(staging)
    # incompressible and larger than a few members, so that each worker compresses some
    payload = os.urandom(3 * bundle.MEMBER + 12345)
    out.write_bytes("host-collectors/big/big.bin", payload)
    out.write_text("host-collectors/small.txt", "small\n")
    made = bundle.archive(staging, tmp_path / "support-bundle-x.tar.gz")
    data = made.path.read_bytes()
    assert gzip_members(data) > 1
    assert made.size == len(data) and made.sha256 == hashlib.sha256(data).hexdigest()
    with tarfile.open(made.path) as tar:
        assert tar.extractfile("support-bundle-x/host-collectors/big/big.bin").read() == payload
        assert tar.extractfile("support-bundle-x/host-collectors/small.txt").read() == b"small\n"
    assert subprocess.run(["gzip", "-t", str(made.path)]).returncode == 0
    listed = subprocess.run(["tar", "-tzf", str(made.path)], capture_output=True, text=True, check=True).stdout
    assert "support-bundle-x/host-collectors/big/big.bin" in listed.splitlines()
    unpacked = tmp_path / "unpacked"
    unpacked.mkdir()
    subprocess.run(["tar", "-xzf", str(made.path), "-C", str(unpacked)], check=True)
    assert (unpacked / "support-bundle-x/host-collectors/big/big.bin").read_bytes() == payload


def _limit_file_size() -> None:
    """A full disk for this child only: writes past 256 KiB fail with EFBIG (as in tests/cli/test_disk_full.py)."""
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (256 * 1024, 256 * 1024))


def test_an_archive_that_cannot_be_written_fails_whole_and_leaves_no_file_or_thread(tmp_path):
    staging = tmp_path / "support-bundle-x"
    Output(staging).write_bytes("host-collectors/big/big.bin", os.urandom(4 * bundle.MEMBER))
    child = ("import sys, threading; from pathlib import Path; from reconciler.run import bundle\n"
             "try:\n"
             "    bundle.archive(Path(sys.argv[1]), Path(sys.argv[2]))\n"
             "except OSError as exc:\n"
             "    print(exc.errno, sorted(t.name for t in threading.enumerate()))\n")
    done = subprocess.run([sys.executable, "-c", child, str(staging), str(tmp_path / "out" / "x.tar.gz")],
                          capture_output=True, text=True, timeout=120, preexec_fn=_limit_file_size)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"{errno.EFBIG} ['MainThread']"
    assert list((tmp_path / "out").iterdir()) == []
