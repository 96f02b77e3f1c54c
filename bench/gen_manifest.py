"""Generate realistic ScheduleSet manifests of N schedules for the benchmarks.

Why not one schedule copied N times: identical blocks would let caches (cron parsing, zone lookups,
spec-file checks) make the benchmark look better than a real manifest, and would leave the optional
sections' code paths cold. So each schedule draws its cron (plain, ranges, steps, lists, names,
macros), its zone and which optional sections it carries from a seeded RNG: the output is varied
but byte-for-byte reproducible, so figures from different runs compare.

A schedule is ~10 lines, so 10,000 schedules are ~100,000 lines, the size a large fleet's manifest
reaches. Every schedule is valid: the benchmarks measure the happy path.

    python bench/gen_manifest.py 10000 > /tmp/m/schedules.yaml      # then write the spec file:
    python bench/gen_manifest.py 10000 -o /tmp/m/schedules.yaml     # manifest + specs/host.yaml
"""
from __future__ import annotations

import argparse
import random
import sys
from pathlib import Path

SPEC_PATH = "specs/host.yaml"  # relative to the manifest, as the manifest names it

HOST_SPEC = """\
apiVersion: troubleshoot.sh/v1beta2
kind: HostCollector
metadata: {name: host}
spec:
  collectors: [{cpu: {}}, {memory: {}}]
"""

HEADER = """\
apiVersion: sbsched/v1
kind: ScheduleSet
metadata: {{name: {set_name}}}
defaults:
  timezone: UTC
  policy: {{concurrency: Forbid, timeoutSeconds: 1800, retries: 2}}
schedules:
"""

# Crons in the shapes people write: fixed times, ranges, steps, lists, month/day names, macros.
# A "{m}"/"{h}" is filled with a random minute/hour so that the expressions are not all identical.
CRONS = (
    "{m} {h} * * *",
    "{m} {h} * * mon-fri",
    "*/15 * * * *",
    "{m} */6 * * *",
    "{m} 9-17 * * 1-5",
    "0,30 {h} * * *",
    "{m} {h} 1,15 * *",
    "{m} {h} * jan,apr,jul,oct *",
    "{m} {h} * * sun",
    "{m} 0-23/4 * * *",
    "{m} {h} 1-7 * mon",
    "{m} {h} * * 6,0",
    "@hourly",
    "@daily",
    "@weekly",
    "@monthly",
)

ZONES = (
    "UTC", "America/New_York", "America/Los_Angeles", "America/Sao_Paulo", "Europe/Berlin",
    "Europe/London", "Europe/Paris", "Asia/Tokyo", "Asia/Kolkata", "Asia/Singapore",
    "Australia/Sydney", "Australia/Lord_Howe", "Pacific/Chatham", "Africa/Johannesburg",
)

TEAMS = ("payments", "platform", "search", "storage", "identity", "billing", "edge", "data")
ENVS = ("prod", "staging", "dev")
HOST_COLLECTORS = ("{cpu: {}}", "{memory: {}}", "{hostOS: {}}", "{time: {}}",
                   "{diskUsage: {collectorName: root, path: /}}")


def schedule_block(index: int, rng: random.Random) -> list[str]:
    """The lines of one schedule (~10): required keys always, optional sections by chance."""
    cron = rng.choice(CRONS).format(m=rng.randrange(60), h=rng.randrange(24))
    lines = [
        f"  - name: sched-{index:05d}",
        f'    cron: "{cron}"',
    ]
    if rng.random() < 0.8:  # the rest take the default zone from `defaults:`
        lines.append(f"    timezone: {rng.choice(ZONES)}")
    if rng.random() < 0.05:
        lines.append("    suspend: true")
    lines.append(f"    labels: {{team: {rng.choice(TEAMS)}, env: {rng.choice(ENVS)}}}")
    lines += [
        "    collect:",
        f"      cluster: {'false' if rng.random() < 0.7 else 'true'}",
        f"      specs: [{SPEC_PATH}]",
        f"      hostCollectors: [{', '.join(rng.sample(HOST_COLLECTORS, rng.randint(1, 3)))}]",
    ]
    if rng.random() < 0.6:
        lines.append(f"    policy: {{timeoutSeconds: {rng.choice((300, 600, 900, 3600))}, "
                     f"retries: {rng.randint(0, 3)}}}")
    if rng.random() < 0.6:
        lines.append(f"    retention: {{keepLast: {rng.randint(1, 30)}}}")
    if rng.random() < 0.5:
        lines.append('    upload: {url: "file:///tmp/sbsched-bench/uploads/"}')
    if rng.random() < 0.4:
        on = rng.choice(("[failure]", "[failure, recovered]", "[success, failure]"))
        lines.append(f'    notify: [{{webhook: "http://127.0.0.1:9/hook", on: {on}}}]')
    return lines


def generate(n: int, *, seed: int = 1, set_name: str = "bench") -> str:
    """The manifest text of `n` schedules; the same (n, seed) always gives the same text."""
    rng = random.Random(seed)
    lines = [HEADER.format(set_name=set_name).rstrip("\n")]
    for index in range(1, n + 1):
        lines += schedule_block(index, rng)
    return "\n".join(lines) + "\n"


def write_spec(directory: Path) -> Path:
    """specs/host.yaml under `directory`: every generated schedule names it."""
    path = directory / SPEC_PATH
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(HOST_SPEC, encoding="utf-8")
    return path


def write_manifest(path: Path, n: int, *, seed: int = 1, set_name: str = "bench") -> Path:
    """Write the manifest to `path` and the spec file next to it; returns `path`."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(generate(n, seed=seed, set_name=set_name), encoding="utf-8")
    write_spec(path.parent)
    return path


def _args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Generate a ScheduleSet manifest of N schedules.")
    parser.add_argument("n", type=int, help="number of schedules")
    parser.add_argument("-o", "--output", type=Path, help="write here (and specs/host.yaml next to it) "
                                                          "instead of stdout")
    parser.add_argument("--spec-dir", type=Path, help="with stdout: also write specs/host.yaml under DIR")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--name", default="bench", help="the set's metadata.name")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = _args(argv)
    if args.n < 0:
        sys.stderr.write("N must be >= 0\n")
        return 2
    if args.output is not None:
        write_manifest(args.output, args.n, seed=args.seed, set_name=args.name)
        return 0
    sys.stdout.write(generate(args.n, seed=args.seed, set_name=args.name))
    if args.spec_dir is not None:
        write_spec(args.spec_dir)
    else:
        sys.stderr.write(f"note: the manifest names {SPEC_PATH}; write it next to the manifest "
                         "(--spec-dir DIR, or use -o FILE)\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
