"""One run end to end, whether it streams, and how near gzip it runs: `sbsched run` on a schedule whose
`copy` collector takes a large log, beside `gzip -6 -c` of the same file and redaction alone on it.

Why a side-by-side: streaming means peak RSS does not grow with the bundle. The same schedule is run
with a 2 MB and a 200 MB log; the difference in peak RSS must stay small (target: under 32 MiB, i.e.
far below the 198 MB added). Speed (issue 18, "Fast"): the 200 MB run must take at most 1.3 x what
`gzip -6 -c` takes on the same file in the same minute, and redaction alone (`redact_tree` on a staged
copy, in this process) must reach 100 MB/s. That log is the issue's: lines of random hex (text, so
redaction reads it line by line; random, so gzip must work), which the prefilter skips whole.

Redaction alone is also measured, without a target, on a denser application log (`_write_app_log`):
one line in 6 holds a word the prefilter cannot skip (`key`, `token`, `password`, `@` in a URL) and one
in 13 a secret, so the rules' per-line cost shows.
"""
from __future__ import annotations

import json
import os
import random
import shutil
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_cli import SBSCHED, run_process, sbsched_env, table  # noqa: E402

SIZES_MB = (2, 200)
RSS_GROWTH_TARGET_MIB = 32
GZIP_RATIO_TARGET = 1.3
REDACTION_TARGET_MBPS = 100

# one in ~8 lines holds a needle word; one in ~40 a secret (the rest of a day's log is requests)
_LINES = (
    ["{ts} INFO  http request_id={h32} method=GET path=/api/v1/items/{n} status=200 bytes={n} dur_ms={d}"] * 28
    + ["{ts} DEBUG cache lookup key={h16} hit=true shard={d}"] * 3
    + ["{ts} INFO  auth refreshed tokens for session {h16} (expires in {n}s)"] * 2
    + ["{ts} WARN  auth retry client_id={h16} token={h32}"]
    + ['{{"ts":"{ts}","level":"info","msg":"login","user":"u{n}","password":"{h16}","request":"{h32}"}}']
    + ["{ts} ERROR db connect postgres://app:{h16}@db-{d}.internal:5432/app failed: timeout"]
    + ["{ts} INFO  worker {d} processed batch {h32} in {d} ms"] * 4
)


def _write_file(path: Path, megabytes: int) -> None:
    """Lines of random hex (text, so redaction reads it line by line; random, so gzip must work)."""
    with open(path, "wb") as handle:
        for _ in range(megabytes):
            hexed = os.urandom(512 * 1024).hex()
            handle.write("\n".join(hexed[i:i + 95] for i in range(0, len(hexed), 95)).encode() + b"\n")


def _write_app_log(path: Path, megabytes: int) -> None:
    """An application log of `megabytes` MB (see the module docstring), the same bytes for a size."""
    rng = random.Random(megabytes)
    written, limit = 0, megabytes * 1_000_000
    with open(path, "wb") as handle:
        while written < limit:
            hexed = rng.randbytes(1 << 16).hex()
            lines = []
            for i in range(0, len(hexed) - 48, 48):
                lines.append(rng.choice(_LINES).format(
                    ts=f"2026-12-06T{i % 24:02d}:{i % 60:02d}:{i % 59:02d}.{i % 1000:03d}Z",
                    h32=hexed[i:i + 32], h16=hexed[i + 32:i + 48], n=i, d=i % 97))
            chunk = ("\n".join(lines) + "\n").encode()
            handle.write(chunk)
            written += len(chunk)


def _redaction_alone(work: Path, big: Path) -> tuple[float, float, int]:
    """redact_tree on a staged copy of the log: (wall s, cpu s, values masked)."""
    from reconciler.redact.tree import redact_tree   # here: the other benchmarks need not import it
    staging = work / "staging-redaction"
    (staging / "host-collectors" / "big").mkdir(parents=True)
    shutil.copyfile(big, staging / "host-collectors" / "big" / big.name)
    wall, cpu = time.perf_counter(), time.process_time()
    report = redact_tree(staging)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    shutil.rmtree(staging)
    return wall, cpu, report.count


def _manifest(work: Path, big: Path) -> Path:
    path = work / "schedules.yaml"
    path.write_text(f"""apiVersion: sbsched/v1
kind: ScheduleSet
metadata: {{name: bench}}
schedules:
  - name: copy-{big.stem}
    cron: "@daily"
    collect:
      cluster: false
      hostCollectors:
        - cpu: {{}}
        - copy: {{collectorName: big, path: "{big}"}}
""")
    return path


def main() -> Counter[str]:
    verdicts: Counter[str] = Counter()
    rows = []
    with tempfile.TemporaryDirectory(prefix="sbsched-bench-run-") as tmp:
        work = Path(tmp)
        results = {}
        for size in SIZES_MB:
            big = work / f"file-{size}mb.log"
            _write_file(big, size)
            env = sbsched_env(work / f"state-{size}")
            manifest = _manifest(work, big)
            applied = run_process([SBSCHED, "apply", "-f", str(manifest)], env=env)
            out = work / f"run-{size}.json"
            run = run_process([SBSCHED, "run", f"copy-{big.stem}", "-o", "json"], env=env, timeout=600,
                              stdout_path=out)
            record = json.loads(out.read_text()) if run.code == 0 and applied.code == 0 else {}
            results[size] = run
            bundle_bytes = (record.get("bundle") or {}).get("sizeBytes", 0)
            rows.append([f"{size} MB file", str(run.code), f"{run.wall:.2f}", f"{run.cpu:.2f}",
                         f"{run.maxrss_kib / 1024:.0f}", f"{bundle_bytes / 2**20:.1f}",
                         f"{size / run.wall:.0f}" if run.wall else "-"])
            if size == SIZES_MB[-1]:
                gzipped = run_process(["gzip", "-6", "-c", str(big)], timeout=600)
                rows.append([f"gzip -6 -c, {size} MB", str(gzipped.code), f"{gzipped.wall:.2f}",
                             f"{gzipped.cpu:.2f}", "-", "-", f"{size / gzipped.wall:.0f}"])
                redaction = _redaction_alone(work, big)
                big.unlink()
                _write_app_log(big, size)
                dense = _redaction_alone(work, big)
            big.unlink()
        growth = (results[SIZES_MB[-1]].maxrss_kib - results[SIZES_MB[0]].maxrss_kib) / 1024
        ok = all(r.code == 0 for r in results.values()) and growth <= RSS_GROWTH_TARGET_MIB
        verdicts["PASS" if ok else ("FAIL" if any(r.code for r in results.values()) else "MISS")] += 1
        ratio = results[SIZES_MB[-1]].wall / gzipped.wall
        fast = ratio <= GZIP_RATIO_TARGET
        verdicts["PASS" if fast else "MISS"] += 1
        redaction_wall, redaction_cpu, masked = redaction
        mbps = SIZES_MB[-1] / redaction_wall
        redacts = mbps >= REDACTION_TARGET_MBPS
        verdicts["PASS" if redacts else "MISS"] += 1
        verdicts["FAIL" if not dense[2] else "PASS"] += 1   # the app log's secrets were found
    print("== One run with a copy collector (sbsched run, fresh process each), beside gzip")
    print(table(["run", "exit", "wall s", "cpu s", "peak RSS MiB", "bundle MiB", "MB/s"], rows))
    print(f"peak RSS growth from {SIZES_MB[0]} MB to {SIZES_MB[-1]} MB: {growth:.1f} MiB "
          f"(target <= {RSS_GROWTH_TARGET_MIB} MiB: streaming) -> {'PASS' if ok else 'MISS'}")
    print(f"run / gzip -6 wall, {SIZES_MB[-1]} MB: {ratio:.2f} (target <= {GZIP_RATIO_TARGET}) "
          f"-> {'PASS' if fast else 'MISS'}")
    print(f"redaction alone, {SIZES_MB[-1]} MB of that log: {redaction_wall:.2f} s wall, {redaction_cpu:.2f} s cpu,"
          f" {mbps:.0f} MB/s ({SIZES_MB[-1] / redaction_cpu:.0f} MB/s of cpu), {masked} values masked "
          f"(target >= {REDACTION_TARGET_MBPS} MB/s) -> {'PASS' if redacts else 'MISS'}")
    print(f"redaction alone, {SIZES_MB[-1]} MB of the dense app log: {dense[0]:.2f} s wall, {dense[1]:.2f} s cpu, "
          f"{SIZES_MB[-1] / dense[0]:.0f} MB/s, {dense[2]} values masked (no target; none masked is a FAIL)\n")
    return verdicts


if __name__ == "__main__":
    main()
