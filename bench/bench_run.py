"""One run end to end, and whether it streams: `sbsched run` on a schedule whose `copy` collector takes
a large file, beside the same run without it.

Why a side-by-side: streaming means peak RSS does not grow with the bundle. The same schedule is run
with a 2 MB and a 200 MB file; the difference in peak RSS must stay small (target: under 32 MiB, i.e.
far below the 198 MB added), while wall time grows only with the bytes gzip and redaction must touch.
Random bytes are used so that gzip cannot shrink the work away.
"""
from __future__ import annotations

import json
import os
import sys
import tempfile
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_cli import SBSCHED, run_process, sbsched_env, table  # noqa: E402

SIZES_MB = (2, 200)
RSS_GROWTH_TARGET_MIB = 32


def _write_file(path: Path, megabytes: int) -> None:
    """Lines of random hex (text, so redaction reads it line by line; random, so gzip must work)."""
    with open(path, "wb") as handle:
        for _ in range(megabytes):
            hexed = os.urandom(512 * 1024).hex()
            handle.write("\n".join(hexed[i:i + 95] for i in range(0, len(hexed), 95)).encode() + b"\n")


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
            big.unlink()
        growth = (results[SIZES_MB[-1]].maxrss_kib - results[SIZES_MB[0]].maxrss_kib) / 1024
        ok = all(r.code == 0 for r in results.values()) and growth <= RSS_GROWTH_TARGET_MIB
        verdicts["PASS" if ok else ("FAIL" if any(r.code for r in results.values()) else "MISS")] += 1
    print("== One run with a copy collector (sbsched run, fresh process each)")
    print(table(["run", "exit", "wall s", "cpu s", "peak RSS MiB", "bundle MiB", "MB/s"], rows))
    print(f"peak RSS growth from {SIZES_MB[0]} MB to {SIZES_MB[-1]} MB: {growth:.1f} MiB "
          f"(target <= {RSS_GROWTH_TARGET_MIB} MiB: streaming) -> {'PASS' if ok else 'MISS'}\n")
    return verdicts


if __name__ == "__main__":
    main()
