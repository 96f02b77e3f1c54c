"""Hostile manifests through `sbsched validate`, each in its own process with its peak RSS measured.

Each case must be refused with the exit code and the one message it deserves (1: an invalid manifest,
one FILE:LINE:COL diagnostic; 2: a file that cannot be read as a manifest, one `sbsched: error:` line),
no traceback, within its time and memory bounds, or, for the 100,000-schedule manifest, handled (exit 0)
within the bounds documented in docs/reliability.md. Peak RSS is the child's own VmHWM, written by
bench/peak.py (wait4's ru_maxrss would start at this process's size).

The limits enforced (reconciler/manifest/load.py, reconciler/base/yamlio.py): files over 64 MiB are refused
before reading; nesting deeper than 64 levels (spec files: 1,000), counted while libyaml composes, so a
document 100,000 levels deep stops at level 67 instead of overflowing the C stack; 5,000,000 node visits
while building data, aliases counted each time they are expanded ("billion laughs"); UTF-8 only.
"""
from __future__ import annotations

import json
import os
import random
import re
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from .common import ROOT, Result, environment, measured_cli, workdir

MIB = 2**20


@dataclass
class Case:
    name: str
    write: Callable[[Path], None]
    exit_code: int
    message: str                 # a regex the one message must match
    max_seconds: float = 20.0
    max_mib: float = 250.0


def _text(content: str) -> Callable[[Path], None]:
    return lambda path: path.write_text(content, encoding="utf-8")


def _laughs(path: Path) -> None:
    lines = ['a0: &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]" for i in range(1, 10)]
    path.write_text("\n".join(lines) + "\n")


def _hundred_mib(path: Path) -> None:
    with open(path, "wb") as out:
        out.write(b"apiVersion: sbsched/v1\nkind: ScheduleSet\nmetadata: {name: big}\nschedules: []\n# ")
        out.truncate(100 * MIB)    # sparse: the size is what matters


def _block_nesting(depth: int) -> Callable[[Path], None]:
    return _text("".join(" " * i + "k:\n" for i in range(depth)))


def _garbage(path: Path) -> None:
    path.write_bytes(random.Random(7).randbytes(MIB))


def _bad_utf8(path: Path) -> None:
    path.write_bytes(b"apiVersion: sbsched/v1\nkind: ScheduleSet\nmetadata: {name: \xc3\x28bad}\nschedules: []\n")


def _many_schedules(count: int) -> Callable[[Path], None]:
    def write(path: Path) -> None:   # bench's generator: varied crons, zones and sections, reproducible
        sys.path.insert(0, str(ROOT / "bench"))
        try:
            import gen_manifest
        finally:
            sys.path.pop(0)
        gen_manifest.write_manifest(path, count)
    return write


def _alias_fanout(path: Path) -> None:
    """One schedule mapping repeated 200,000 times through an alias: 2.4M node visits, under the cap."""
    path.write_text("apiVersion: sbsched/v1\nkind: ScheduleSet\nmetadata: {name: fan}\nschedules: ["
                    "&one {name: same, cron: '0 2 * * *', collect: {cluster: false, hostCollectors: [{cpu: {}}]}}, "
                    + ", ".join(["*one"] * 200_000) + "]\n")


def _typo_in_many(count: int) -> Callable[[Path], None]:
    """A large manifest with one misspelt key: the schema's slow path (jsonschema lists every error)."""
    def write(path: Path) -> None:
        _many_schedules(count)(path)
        text = path.read_text()
        path.write_text(text.replace("    timezone:", "    timezon:", 1))
    return write


def _deep_spec(path: Path) -> None:
    (path.parent / "deep-spec.yaml").write_text(
        "apiVersion: troubleshoot.sh/v1beta2\nkind: SupportBundle\nmetadata: {name: d}\nspec:\n  collectors: "
        + "[" * 100_000 + "]" * 100_000 + "\n")
    path.write_text("apiVersion: sbsched/v1\nkind: ScheduleSet\nmetadata: {name: s}\nschedules:\n"
                    "  - {name: a, cron: '0 2 * * *', collect: {specs: [deep-spec.yaml], cluster: false}}\n")


def _dev_zero_spec(path: Path) -> None:
    path.write_text("apiVersion: sbsched/v1\nkind: ScheduleSet\nmetadata: {name: s}\nschedules:\n"
                    "  - {name: a, cron: '0 2 * * *', collect: {specs: [/dev/zero], cluster: false}}\n")


def _nul(path: Path) -> None:
    path.write_text("apiVersion: sbsched/v1\nkind: ScheduleSet\nmetadata: {name: \x00}\nschedules: []\n")


def _long_scalar(path: Path) -> None:
    with open(path, "w", encoding="utf-8") as out:
        out.write("apiVersion: sbsched/v1\nkind: ScheduleSet\nmetadata: {name: long}\nschedules: []\nnote: ")
        out.write("x" * (60 * MIB))
        out.write("\n")


CASES = [
    Case("billion laughs (9^10 aliases)", _laughs, 1, r"document too large: more than 5,000,000 nodes"),
    Case("100 MiB file", _hundred_mib, 2, r"over the 64 MiB manifest limit", max_mib=80),
    Case("1,000-deep flow nesting", _text("[" * 1000 + "]" * 1000 + "\n"), 1, r"nesting deeper than 64 levels"),
    Case("1,000-deep block nesting", _block_nesting(1000), 1, r"nesting deeper than 64 levels"),
    Case("100,000-deep flow nesting", _text("[" * 100_000 + "]" * 100_000 + "\n"), 1,
         r"nesting deeper than 64 levels"),
    Case("100,000-deep block sequence", _text("- " * 100_000 + "x\n"), 1, r"nesting deeper than 64 levels"),
    Case("spec file 100,000 deep", _deep_spec, 1, r"deep-spec\.yaml is not valid YAML"),
    Case("/dev/zero as a spec file", _dev_zero_spec, 1, r"cannot read /dev/zero: not a regular file"),
    Case("binary garbage (1 MiB)", _garbage, 2, r"not UTF-8 text"),
    Case("invalid UTF-8", _bad_utf8, 2, r"not UTF-8 text \(invalid byte at offset \d+\)"),
    Case("NUL character", _nul, 1, r"YAML syntax error"),
    Case("alias fan-out: 200,001 copies of one schedule", _alias_fanout, 1, r"duplicate schedule name",
         max_seconds=60, max_mib=1500),
    Case("60 MiB scalar", _long_scalar, 1, r"note", max_seconds=30, max_mib=700),
    Case("100,000 schedules (34 MB)", _many_schedules(100_000), 0, r"valid \(set 'bench', 100000 schedules\)",
         max_seconds=90, max_mib=3 * 1024),
    Case("30,000 schedules, one misspelt key", _typo_in_many(30_000), 1, r"unknown key 'timezon'",
         max_seconds=60, max_mib=1024),
]

DIAGNOSTIC = re.compile(r"^\S+:\d+:\d+: ")


def _one_message(case: Case, out: str, err: str, code: int) -> str | None:
    """Why the output is not the one message this case deserves (None when it is)."""
    text = out + err
    if "Traceback" in text or "internal error" in text:
        return "traceback or internal error"
    if not re.search(case.message, text):
        return f"message does not match /{case.message}/"
    if code == 2:
        errors = [ln for ln in err.splitlines() if ln.startswith("sbsched: error:")]
        return None if len(errors) == 1 else f"{len(errors)} error lines"
    if code == 1:
        diagnostics = [ln for ln in text.splitlines() if DIAGNOSTIC.match(ln)]
        if case.name.startswith("alias fan-out"):
            return None if diagnostics else "no diagnostic"
        return None if len(diagnostics) == 1 else f"{len(diagnostics)} diagnostics"
    return None


def run(*, only: str | None = None) -> Result:
    result = Result("hostile manifests")
    started = time.monotonic()
    work = workdir("hostile")
    env = environment(work / "state")
    table = {}
    for case in CASES:
        if only and only not in case.name:
            continue
        path = work / (re.sub(r"\W+", "-", case.name).strip("-") + ".yaml")
        case.write(path)
        measured = measured_cli(["validate", "-f", str(path)], env, timeout=case.max_seconds * 3 + 30)
        result.trials += 1
        mib = (measured.peak_kib or 0) / 1024
        problems = []
        if measured.code != case.exit_code:
            problems.append(f"exit {measured.code}, want {case.exit_code}")
        why = _one_message(case, measured.out, measured.err, measured.code)
        if why:
            problems.append(why)
        if measured.seconds > case.max_seconds:
            problems.append(f"{measured.seconds:.1f} s > {case.max_seconds:g} s")
        if not measured.peak_kib or mib > case.max_mib:
            problems.append(f"peak RSS {mib:.0f} MiB > {case.max_mib:g} MiB")
        message = (measured.err.strip() or measured.out.strip()).splitlines()
        table[case.name] = {"exit": measured.code, "seconds": round(measured.seconds, 2), "peak MiB": round(mib, 1),
                            "bytes": path.stat().st_size, "message": message[0][:160] if message else ""}
        if problems:
            result.fail(f"{case.name}: {'; '.join(problems)}: {' | '.join(message[:2])[:300]}")
        path.unlink()
    result.details = table
    result.seconds = time.monotonic() - started
    return result


if __name__ == "__main__":
    print(json.dumps(run(only=os.environ.get("STRESS_ONLY")).to_json(), indent=2))
