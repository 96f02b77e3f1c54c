"""S3 upload throughput: our uploader beside plain boto3 `upload_file` (what `aws s3 cp` does), to moto.

Why a side-by-side: our S3 uploader is boto3's managed transfer plus what delivery needs (metadata,
classified errors, our own retry loop, credentials from references), so it should move bytes as fast
as the plain call does: target ours/upload_file throughput >= 0.9, per size. Both run against the same
moto_server process in the same run (a real HTTP server on loopback, started on a free port and
terminated at the end), on 1, 50 and 200 MiB files of random bytes (incompressible, like a gzip bundle).

  - ours: `reconciler.upload.upload(UploadRequest(...), RetryPolicy(...))` with `options.endpointUrl`
    set to moto, as delivery calls it (metadata execution-id and sha256; the sha is computed before the
    clock starts, as delivery takes it from the bundle record). Whatever each call builds (session,
    client, transfer manager) is inside the timed call.
  - upload_file: `boto3.client("s3", endpoint_url=...).upload_file(path, bucket, key)` with the default
    TransferConfig, the client built inside the timed call as well.

One unmeasured warm-up upload per side first (imports, botocore's first model load, moto's first
request), so what is compared is an upload in a long-running process such as the daemon. Then the two
sides alternate (ours first on even repetitions, upload_file first on odd ones) and the best wall time
of the repetitions is kept: noise on a shared machine only ever adds time. Beside it, the CPU seconds
of the upload (this process + moto_server, from /proc), least of the repetitions: the work done, which
other load on the machine disturbs far less than wall time. Every object's size is checked with
head_object after its upload (a wrong size or a failed upload is a FAIL), then the object is deleted:
moto keeps objects in memory. 200 MiB gets two repetitions (each side goes first once), and no
repetition starts after TIME_BUDGET_S, so the whole benchmark takes 15-30 s on 2 cores; moto's own
per-part work (it hashes every part and joins the parts on completion) is most of the wall time on
both sides.

    .venv/bin/python bench/bench_upload.py
"""
from __future__ import annotations

import contextlib
import hashlib
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(ROOT))
from bench_cli import BIN, table  # noqa: E402

MiB = 1024 * 1024
SIZES_MB = (1, 50, 200)                  # MiB, in fact: 2**20 bytes each
REPEATS = {1: 5, 50: 3, 200: 2}          # per side, best kept; 200 MiB twice so each side goes first once
TIME_BUDGET_S = 40.0                     # no further repetition starts after this (at least one per size)
RATIO_TARGET = 0.9                       # ours throughput / upload_file throughput
BUCKET = "sbsched-bench"
READY_TIMEOUT_S = 30.0
# moto spools every object or part above ~5 MiB to a temp file by default; with a buffer above the
# largest object everything stays in memory, so the local disk (shared with whatever else runs) is not
# part of what is measured. Each object is deleted once measured.
MOTO_BUFFER = (max(SIZES_MB) + 16) * MiB
LOOPBACK = "127.0.0.1"
AWS_ENV = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_SESSION_TOKEN": "testing",
           "AWS_DEFAULT_REGION": "us-east-1", "AWS_EC2_METADATA_DISABLED": "true",
           "NO_PROXY": "127.0.0.1,localhost", "no_proxy": "127.0.0.1,localhost"}
AWS_UNSET = ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_ROLE_ARN", "AWS_WEB_IDENTITY_TOKEN_FILE",
             "AWS_CONTAINER_CREDENTIALS_FULL_URI", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
             "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3")


# -- the server and the environment -------------------------------------------------------------

def _free_port() -> int:
    with socket.socket() as s:
        s.bind((LOOPBACK, 0))
        return int(s.getsockname()[1])


def _answers(url: str) -> bool:
    try:
        with urllib.request.build_opener(urllib.request.ProxyHandler({})).open(url, timeout=2):
            return True
    except urllib.error.HTTPError:
        return True  # any HTTP answer: the server is up
    except OSError:
        return False


@contextlib.contextmanager
def moto_server(log: Path) -> Iterator[tuple[str, int]]:
    """moto's S3 server as a real process on a free loopback port; yields its endpoint URL and pid."""
    port = _free_port()
    url = f"http://{LOOPBACK}:{port}"
    with open(log, "wb") as out:
        proc = subprocess.Popen([str(BIN / "moto_server"), "-H", LOOPBACK, "-p", str(port)], stdout=out,
                                stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                env={**os.environ, "MOTO_S3_DEFAULT_KEY_BUFFER_SIZE": str(MOTO_BUFFER)})
    try:
        tick = threading.Event()
        deadline = time.monotonic() + READY_TIMEOUT_S
        while not _answers(url + "/moto-api/"):
            if proc.poll() is not None:
                raise RuntimeError(f"moto_server exited with {proc.returncode}: "
                                   f"{log.read_text(errors='replace')[-2000:]}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"moto_server did not answer within {READY_TIMEOUT_S:g} s")
            tick.wait(0.05)
        yield url, proc.pid
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)


@contextlib.contextmanager
def aws_environment(tmp: Path) -> Iterator[None]:
    """Fake credentials, no host AWS files or profiles, no proxy for loopback; restored afterwards (run.py
    runs every benchmark in one process)."""
    saved = dict(os.environ)
    for key in AWS_UNSET:
        os.environ.pop(key, None)
    os.environ.update(AWS_ENV, AWS_CONFIG_FILE=str(tmp / "aws-config"),
                      AWS_SHARED_CREDENTIALS_FILE=str(tmp / "aws-credentials"))
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


# -- the two sides ------------------------------------------------------------------------------

def _write_random(path: Path, megabytes: int) -> str:
    """`megabytes` MiB of random bytes, written 1 MiB at a time; returns their sha256 (as a bundle record
    holds it)."""
    digest = hashlib.sha256()
    with open(path, "wb") as handle:
        for _ in range(megabytes):
            chunk = os.urandom(MiB)
            digest.update(chunk)
            handle.write(chunk)
    return digest.hexdigest()


def ours(endpoint: str, path: Path, sha: str) -> str:
    """One upload through reconciler.upload, as delivery makes it; returns the object key."""
    from reconciler.upload import RetryPolicy, UploadRequest, object_url, upload

    url = object_url(f"s3://{BUCKET}/ours/", "bench", "upload", path.name)
    request = UploadRequest(path, url, options={"endpointUrl": endpoint, "region": "us-east-1"},
                            metadata={"execution-id": "bench-upload", "sha256": sha})
    outcome = upload(request, RetryPolicy(retries=0, backoff_seconds=0.0))
    if outcome.status != "uploaded":
        raise RuntimeError(f"our upload failed: {outcome.error}")
    return url.split("/", 3)[3]


def baseline(endpoint: str, path: Path, sha: str) -> str:
    """`aws s3 cp FILE s3://bucket/key`, in boto3: upload_file with the default TransferConfig."""
    import boto3

    key = f"upload-file/{path.name}"
    boto3.client("s3", endpoint_url=endpoint).upload_file(str(path), BUCKET, key)
    return key


SIDES: dict[str, Callable[[str, Path, str], str]] = {"ours": ours, "upload_file": baseline}


def _cpu_seconds(pid: int) -> float:
    """utime + stime of process `pid` (all its threads), from /proc/PID/stat."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class Sample:
    wall: float
    cpu: float  # this process (the uploading side) + moto_server: the work, whatever else the machine does


def measure(side: str, endpoint: str, path: Path, sha: str, client: Any, server_pid: int) -> Sample:
    """One upload; the object's size is checked, then the object deleted."""
    cpu0, server0 = time.process_time(), _cpu_seconds(server_pid)
    start = time.perf_counter()
    key = SIDES[side](endpoint, path, sha)
    wall = time.perf_counter() - start
    cpu = time.process_time() - cpu0 + _cpu_seconds(server_pid) - server0
    size = client.head_object(Bucket=BUCKET, Key=key)["ContentLength"]
    client.delete_object(Bucket=BUCKET, Key=key)
    if size != path.stat().st_size:
        raise AssertionError(f"{side}: s3://{BUCKET}/{key} has {size} bytes, the file {path.stat().st_size}")
    return Sample(wall, cpu)


# -- the benchmark ------------------------------------------------------------------------------

def main() -> Counter[str]:
    verdicts: Counter[str] = Counter()
    if not (BIN / "moto_server").exists():
        print(f"== S3 upload: {BIN / 'moto_server'} is missing (pip install 'moto[server]'); skipped\n")
        verdicts["SKIP"] += 1
        return verdicts
    import boto3

    began = time.monotonic()
    rows = []
    notes: list[str] = []
    with tempfile.TemporaryDirectory(prefix="sbsched-bench-upload-") as tmp, aws_environment(Path(tmp)), \
            moto_server(Path(tmp) / "moto.log") as (endpoint, server_pid):
        work = Path(tmp)
        client = boto3.client("s3", endpoint_url=endpoint)
        client.create_bucket(Bucket=BUCKET)
        warm = work / "warm-up.bin"
        warm_sha = _write_random(warm, 1)
        for side in SIDES:
            measure(side, endpoint, warm, warm_sha, client, server_pid)
        warm.unlink()
        for size in SIZES_MB:
            path = work / f"bundle-{size}mb.tar.gz"
            sha = _write_random(path, size)
            samples: dict[str, list[Sample]] = {side: [] for side in SIDES}
            try:
                for rep in range(REPEATS[size]):
                    if rep and time.monotonic() - began > TIME_BUDGET_S:
                        notes.append(f"{size} MiB: {rep} repetition(s) of {REPEATS[size]}, the time budget "
                                     f"({TIME_BUDGET_S:g} s) being spent")
                        break
                    for side in (list(SIDES) if rep % 2 == 0 else list(reversed(SIDES))):
                        samples[side].append(measure(side, endpoint, path, sha, client, server_pid))
            except Exception as exc:  # a failed or short upload: this size FAILs, the others still run
                notes.append(f"FAIL {size} MiB: {type(exc).__name__}: {exc}")
                verdicts["FAIL"] += 1
                rows.append([str(size), "-", "-", "-", "-", "-", "-", "-", "FAIL"])
                continue
            finally:
                path.unlink()
            wall = {side: min(s.wall for s in runs) for side, runs in samples.items()}
            cpu = {side: min(s.cpu for s in runs) for side, runs in samples.items()}
            ratio = wall["upload_file"] / wall["ours"]  # throughput ratio = inverse time ratio
            verdict = "PASS" if ratio >= RATIO_TARGET else "MISS"
            verdicts[verdict] += 1
            rows.append([str(size), f"{wall['ours']:.3f}", f"{size / wall['ours']:.1f}", f"{cpu['ours']:.2f}",
                         f"{wall['upload_file']:.3f}", f"{size / wall['upload_file']:.1f}",
                         f"{cpu['upload_file']:.2f}", f"{ratio:.2f}", verdict])
    print(f"== S3 upload to moto_server: ours beside boto3 upload_file, same server, alternating "
          f"(best of {REPEATS[SIZES_MB[0]]} / {REPEATS[SIZES_MB[1]]} / {REPEATS[SIZES_MB[2]]})")
    print(table(["MiB", "ours s", "ours MiB/s", "ours cpu s", "upload_file s", "upload_file MiB/s",
                 "upload_file cpu s", "ratio", "verdict"], rows, right=range(8)))
    print(f"ratio = ours throughput / upload_file throughput (best wall times), target >= {RATIO_TARGET}; "
          "cpu = this process + moto_server, least of the repetitions")
    for note in notes:
        print(note)
    print(f"({time.monotonic() - began:.0f} s)\n")
    return verdicts


if __name__ == "__main__":
    main()
