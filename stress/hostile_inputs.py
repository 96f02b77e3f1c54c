"""Issue 17's attacks on input and credentials, through the real binary; an attack that gets through is
an escape (a failure), and the scenario counts every attack tried.

- Manifests (each in its own `validate` process, peak RSS measured, as in hostile.py): names with a
  trailing newline, numbers past their maximum or not finite, a 1 MB label aliased by 300 schedules
  (a 1 MB file that expanded to a 300 MB state.json), labels past Kubernetes' limits. Each must be
  refused (exit 1) with the one diagnostic that names the limit, within its time and memory bounds.
- Control characters: one manifest per string field (names, cron, zone, URLs, paths, labels, headers,
  references), each with a C0/C1 character, all checked by one `validate`: every file refused at its field.
- A trailing-newline schedule: `apply` refuses it and no `bundles/<name>\\n/` appears.
- Credentials: a run whose upload header is `{env: TOKEN}` and whose `run` collectors print the
  environment and echo the same value from another variable: the value is nowhere in the state dir
  (bundles decompressed, records, logs, state), the referenced variable not in the collector's environment.
- A presigned upload URL given to `create --apply`: its signature is in neither the audit log nor the output.
- `export kubernetes` of literal secrets: exit 1, each named, no ConfigMap on stdout.
"""
from __future__ import annotations

import json
import os
import random
import re
import tarfile
import time
from pathlib import Path
from typing import Callable

from .common import Result, environment, measured_cli, sbsched, workdir
from .hostile import Case, _one_message

HEAD = "apiVersion: sbsched/v1\nkind: ScheduleSet\nmetadata: {name: s}\nschedules:\n"
ONE = '  - {name: a, cron: "0 2 * * *", collect: {cluster: false}'


def _schedule(extra: str) -> Callable[[Path], None]:
    return lambda path: path.write_text(HEAD + ONE + (", " + extra if extra else "") + "}\n", encoding="utf-8")


def _aliased_label(path: Path) -> None:
    lines = [f'  - {{name: s0, cron: "0 2 * * *", labels: &big {{team: "{"x" * 2**20}"}}}}']
    lines += [f'  - {{name: s{i}, cron: "0 2 * * *", labels: *big}}' for i in range(1, 300)]
    path.write_text(HEAD + "\n".join(lines) + "\n", encoding="utf-8")


CASES = [
    Case("schedule name 'abc\\n'", lambda p: p.write_text(HEAD + '  - {name: "abc\\n", cron: "@daily"}\n'), 1,
         r"schedules\[0\]\.name: 'abc\\n' must be lowercase"),
    Case("set name 'prod\\n'", lambda p: p.write_text(HEAD.replace("{name: s}", '{name: "prod\\n"}')), 1,
         r"metadata\.name: 'prod\\n' must be lowercase"),
    Case("retention.maxAgeDays 99999999999", _schedule("retention: {maxAgeDays: 99999999999}"), 1,
         r"maxAgeDays: must be <= 36500"),
    Case("policy.backoffSeconds .nan", _schedule("policy: {backoffSeconds: .nan}"), 1, r"not a finite number"),
    Case("limits.maxBundleSizeBytes 2^70", _schedule(f"limits: {{maxBundleSizeBytes: {2**70}}}"), 1,
         r"maxBundleSizeBytes: must be <= "),
    Case("1 MB label aliased by 300 schedules", _aliased_label, 1,
         r"more than 64 MiB of text once aliases are expanded", max_mib=300),
    Case("label value of 64 characters", _schedule(f"labels: {{team: {'v' * 64}}}"), 1, r"at most 63 characters"),
    Case("label key name of 64 characters", _schedule(f"labels: {{{'k' * 64}: v}}"), 1, r"1 to 63 characters"),
    Case("label key prefix of 254 characters", _schedule(f"labels: {{{'p' * 254}/team: v}}"), 1,
         r"1 to 253 characters"),
]

# (a field as diagnostics name it, the schedule with {c} where the control character goes)
STRING_FIELDS = [
    ("schedules[0].name", 'name: "a{c}", cron: "@daily"'),
    ("schedules[0].cron", 'name: a, cron: "0 2 * * *{c}"'),
    ("schedules[0].timezone", 'name: a, cron: "@daily", timezone: "UTC{c}"'),
    ("schedules[0].upload.url", 'name: a, cron: "@daily", upload: {{url: "s3://bucket/p/{c}"}}'),
    ("schedules[0].notify[0].webhook", 'name: a, cron: "@daily", notify: [{{webhook: "https://h/x{c}"}}]'),
    ("schedules[0].collect.specs[0]", 'name: a, cron: "@daily", collect: {{specs: ["spec.yaml{c}"]}}'),
    ("schedules[0].labels.team", 'name: a, cron: "@daily", labels: {{team: "pay{c}"}}'),
    ("schedules[0].labels", 'name: a, cron: "@daily", labels: {{"team{c}": pay}}'),
    ("schedules[0].upload.options.headers.X-Up",
     'name: a, cron: "@daily", upload: {{url: "https://h/up", options: {{headers: {{X-Up: "v{c}"}}}}}}'),
    ("schedules[0].upload.options.headers",
     'name: a, cron: "@daily", upload: {{url: "https://h/up", options: {{headers: {{"X-Up{c}": v}}}}}}'),
    ("schedules[0].upload.credentials.accessKeyId.env",
     'name: a, cron: "@daily", upload: {{url: "s3://b/p/", credentials: {{accessKeyId: {{env: "AK{c}"}}}}}}'),
    ("schedules[0].redact.redactors[0]", 'name: a, cron: "@daily", redact: {{redactors: ["r.yaml{c}"]}}'),
]


def _control_character_files(work: Path, rng: random.Random) -> list[tuple[Path, str]]:
    """One manifest per field: the historic trailing newline for half of them, any C0/DEL/C1 character for
    the others (as a YAML escape: a raw one is a syntax error before validation)."""
    controls = [*range(0x20), 0x7f, *range(0x80, 0xa0)]
    files = []
    for number, (field, template) in enumerate(STRING_FIELDS):
        code = 0x0a if number % 2 == 0 else rng.choice(controls)
        path = work / f"control-{number}.yaml"
        path.write_text(HEAD + "  - {" + template.format(c=f"\\u{code:04x}") + "}\n", encoding="utf-8")
        files.append((path, field))
    return files


def _bundle_texts(state: Path) -> list[tuple[str, bytes]]:
    """Every file under the state dir, archives opened: what an attacker who got a copy would read."""
    out = []
    for path in sorted(p for p in state.rglob("*") if p.is_file()):
        if path.name.endswith(".tar.gz"):
            with tarfile.open(path) as tar:
                out += [(f"{path.name}:{m.name}", tar.extractfile(m).read())   # type: ignore[union-attr]
                        for m in tar.getmembers() if m.isfile()]
        else:
            out.append((str(path.relative_to(state)), path.read_bytes()))
    return out


def _credentials_attack(work: Path) -> list[str]:
    token = "stress-t0ken-" + os.urandom(6).hex()
    state = work / "cred-state"
    env = environment(state, SBX_UPLOAD_TOKEN=token, SBX_SAME_VALUE=token)   # the second is not a reference
    manifest = work / "cred.yaml"
    manifest.write_text(HEAD + '  - {name: leak, cron: "@daily", policy: {retries: 0},\n'
                        '     collect: {cluster: false, hostCollectors: [{run: {collectorName: environment, command: env}},\n'
                        '       {run: {collectorName: echo, command: sh, args: ["-c", "echo connecting with $SBX_SAME_VALUE"]}}]},\n'
                        '     upload: {url: "http://127.0.0.1:9/up/", options: {headers: {X-Up: {env: SBX_UPLOAD_TOKEN}}}}}\n')
    escapes = []
    if (applied := sbsched("apply", "-f", str(manifest), env=env)).returncode != 0:
        return [f"credentials: apply exited {applied.returncode}: {applied.stderr.strip()[:200]}"]
    ran = sbsched("run", "leak", "-o", "json", env=env)
    if token in ran.stdout + ran.stderr:
        escapes.append("credentials: the token is in run's output")
    files = _bundle_texts(state)
    if not any(name.endswith("run-host/environment.txt") for name, _ in files):
        escapes.append("credentials: no bundle with the environment collector's output")
    for name, data in files:
        if token.encode() in data:
            escapes.append(f"credentials: the token is in {name}")
        if name.endswith("run-host/environment.txt") and b"SBX_UPLOAD_TOKEN" in data:
            escapes.append("credentials: the referenced variable reached the collector's environment")
    return escapes


def _presigned_attack(work: Path) -> list[str]:
    signature = os.urandom(10).hex()
    state = work / "presigned-state"
    env = environment(state)
    url = f"https://bucket.example.com/b.tar.gz?X-Amz-Signature={signature}&token={signature[:8]}x"
    done = sbsched("create", "up", "--cron", "@daily", "--upload", url, "-f", str(work / "presigned.yaml"),
                   "--apply", env=env)
    audit = (state / "logs" / "audit.log")
    seen = done.stdout + done.stderr + (audit.read_text() if audit.exists() else "")
    escapes = [] if done.returncode == 0 else [f"presigned: create exited {done.returncode}"]
    return escapes + (["presigned: the signature is in the audit log or the output"] if signature in seen else [])


def _export_attack(work: Path) -> list[str]:
    manifest = work / "export.yaml"
    manifest.write_text(HEAD + '  - {name: e, cron: "@daily", collect: {cluster: false},\n'
                        '     upload: {url: "https://h/b?X-Amz-Signature=abc", options: {headers: {X-Up: literal}}},\n'
                        '     notify: [{webhook: "https://hooks.slack.com/services/T0/B0/Xk4rT9vQ2mLp8sW1zN6b"}]}\n')
    done = sbsched("export", "kubernetes", "-f", str(manifest), env=environment(work / "export-state"))
    named = [line for line in done.stderr.splitlines() if line.startswith("sbsched: error: e: ")]
    if done.returncode != 1 or "ConfigMap" in done.stdout or len(named) != 3:
        return [f"export: exit {done.returncode}, {len(named)} named, ConfigMap on stdout: {'ConfigMap' in done.stdout}"]
    return []


def _trailing_newline_apply(work: Path) -> list[str]:
    state = work / "newline-state"
    manifest = work / "newline.yaml"
    manifest.write_text(HEAD + '  - {name: "abc\\n", cron: "@daily", collect: {cluster: false}}\n')
    done = sbsched("apply", "-f", str(manifest), env=environment(state))
    if done.returncode != 2 or (state / "state.json").exists() or (state / "bundles" / "abc\n").exists():
        return [f"trailing newline: apply exited {done.returncode} or left a state / bundles/abc\\n"]
    return []


def run(rng: random.Random) -> Result:
    result = Result("hostile inputs and credentials")
    started = time.monotonic()
    work = workdir("hostile-inputs")
    env = environment(work / "state")
    table: dict[str, object] = {}
    for case in CASES:
        path = work / (re.sub(r"\W+", "-", case.name).strip("-") + ".yaml")
        case.write(path)
        measured = measured_cli(["validate", "-f", str(path)], env, timeout=case.max_seconds * 3 + 30)
        result.trials += 1
        mib = (measured.peak_kib or 0) / 1024
        problems = [] if measured.code == case.exit_code else [f"exit {measured.code}, want {case.exit_code}"]
        problems += [why] if (why := _one_message(case, measured.out, measured.err, measured.code)) else []
        problems += [f"{measured.seconds:.1f} s"] if measured.seconds > case.max_seconds else []
        problems += [f"peak RSS {mib:.0f} MiB"] if not measured.peak_kib or mib > case.max_mib else []
        table[case.name] = {"exit": measured.code, "seconds": round(measured.seconds, 2), "peak MiB": round(mib, 1)}
        if problems:
            result.fail(f"{case.name}: {'; '.join(problems)}: {(measured.err or measured.out)[:300]}")
    files = _control_character_files(work, rng)
    checked = sbsched("validate", *[str(path) for path, _ in files], env=env)
    for path, field in files:
        result.trials += 1
        if not any(line.startswith(f"{path}:") and f": {field}:" in line for line in checked.stderr.splitlines()):
            result.fail(f"control character in {field} ({path.name}) was not refused at that field")
    table["control characters"] = {"fields": len(files), "exit": checked.returncode}
    for name, attack in (("credentials", _credentials_attack), ("presigned URL", _presigned_attack),
                         ("export literal secrets", _export_attack), ("trailing-newline apply", _trailing_newline_apply)):
        result.trials += 1
        escapes = attack(work)
        table[name] = {"escapes": len(escapes)}
        for escape in escapes:
            result.fail(escape)
    result.details = table
    result.notes.append(f"{result.trials} attacks, {len(result.failures)} escapes")
    result.seconds = time.monotonic() - started
    return result


if __name__ == "__main__":
    print(json.dumps(run(random.Random(int(os.environ.get("STRESS_SEED", "1")))).to_json(), indent=2))
