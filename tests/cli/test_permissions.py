"""The state dir is private: 0700 dirs and 0600 files, checked at the start of every command that touches
it (fixed by a command that writes, or refused) and kept so by everything a run writes; credentials
given as references never land in a written file."""
from __future__ import annotations

import gzip
import json
import os
import stat
import tarfile
from pathlib import Path

import pytest

from ..conftest import run_sbsched

UPLOAD_TOKEN = "Bearer upl0ad-t0ken-7f3a9c"
HOOK_TOKEN = "h00k-t0ken-52be1d"
FILE_SECRET = "f1le-s3cret-c0ffee"


def simple_manifest(write_manifest):
    return write_manifest("""
        apiVersion: sbsched/v1
        kind: ScheduleSet
        metadata: {name: perms}
        schedules:
          - name: nightly
            cron: "@daily"
            collect: {hostCollectors: [{hostOS: {}}]}
    """)


def modes(root: Path) -> dict[str, tuple[str, int]]:
    """Every path under root (root included), without following symlinks: (type, permission bits)."""
    found = {".": ("dir", stat.S_IMODE(root.stat().st_mode))}
    for directory, dirs, files in os.walk(root):
        for name in dirs + files:
            path = Path(directory) / name
            info = path.lstat()
            kind = "link" if stat.S_ISLNK(info.st_mode) else "dir" if stat.S_ISDIR(info.st_mode) else "file"
            found[str(path.relative_to(root))] = (kind, stat.S_IMODE(info.st_mode))
    return found


def test_loose_permissions_are_fixed_with_one_warning(cli, write_manifest, state_dir):
    assert cli("apply", "-f", str(simple_manifest(write_manifest))).code == 0
    state_dir.chmod(0o755)
    (state_dir / "state.json").chmod(0o644)
    (state_dir / "logs").chmod(0o750)
    (state_dir / "logs" / "audit.log").chmod(0o664)
    outside = state_dir.parent / "outside.txt"
    outside.write_text("not ours")
    outside.chmod(0o644)
    (state_dir / "link").symlink_to(outside)
    result = cli("suspend", "nightly")   # a command that writes: a read-only one only reports
    assert result.code == 0 and "nightly" in result.out
    warnings = [line for line in result.err.splitlines() if "warning" in line]
    assert len(warnings) == 1 and "fixed loose permissions" in warnings[0] and "and 3 more" in warnings[0]
    assert {k: v for k, v in modes(state_dir).items() if v[0] != "link"} == {
        k: ("dir", 0o700) if v[0] == "dir" else ("file", 0o600) for k, v in modes(state_dir).items() if v[0] != "link"}
    assert stat.S_IMODE(outside.stat().st_mode) == 0o644     # a symlink is not followed
    again = cli("list")
    assert again.code == 0 and "warning" not in again.err


@pytest.mark.parametrize("how", ["flag", "env"])
def test_strict_permissions_refuse_with_exit_2_and_one_line(cli, write_manifest, state_dir, monkeypatch, how):
    assert cli("apply", "-f", str(simple_manifest(write_manifest))).code == 0
    (state_dir / "state.json").chmod(0o640)
    if how == "env":
        monkeypatch.setenv("SBSCHED_STRICT_PERMISSIONS", "1")
        result = cli("status", "nightly")
    else:
        result = cli("--strict-permissions", "status", "nightly")
    assert result.code == 2 and result.out == ""
    assert result.err.count("\n") == 1 and "state.json is 0640 (want 0600)" in result.err
    assert stat.S_IMODE((state_dir / "state.json").stat().st_mode) == 0o640   # refused, not fixed
    assert cli("--strict-permissions", "validate", "-f", str(simple_manifest(write_manifest))).code == 0  # no state
    monkeypatch.delenv("SBSCHED_STRICT_PERMISSIONS", raising=False)
    assert cli("resume", "nightly").code == 0
    assert cli("--strict-permissions", "status", "nightly").code == 0   # fixed by the run before


def test_the_installed_binary_refuses_too(write_manifest, state_dir):
    state_dir.mkdir(mode=0o755)
    state_dir.chmod(0o755)
    env = dict(os.environ, SBSCHED_STRICT_PERMISSIONS="1")
    result = run_sbsched("list", env=env)
    assert result.code == 2 and "refusing to use" in result.err and ". is 0755 (want 0700)" in result.err
    assert result.err.count("\n") == 1


def test_a_full_run_leaves_only_private_files_and_no_credential_values(cli, write_manifest, state_dir, tmp_path,
                                                                       http_sink, monkeypatch):
    http_sink.reset()
    share = tmp_path / "share"
    secret_file = tmp_path / "x-key"
    secret_file.write_text(FILE_SECRET + "\n")
    monkeypatch.setenv("UPLOAD_TOKEN", UPLOAD_TOKEN)
    monkeypatch.setenv("HOOK_TOKEN", HOOK_TOKEN)
    path = write_manifest(f"""
        apiVersion: sbsched/v1
        kind: ScheduleSet
        metadata: {{name: secure}}
        defaults:
          policy: {{retries: 0}}
          collect:
            hostCollectors:
              - hostOS: {{}}
              - memory: {{}}
              - run: {{collectorName: environment, command: "env"}}
          notify:
            - webhook: {http_sink.url}/hook
              on: [success, failure]
              headers: {{Authorization: {{env: HOOK_TOKEN}}}}
        schedules:
          - name: shipped
            cron: "@daily"
            upload: {{url: "file://{share}/"}}
          - name: posted
            cron: "@hourly"
            upload:
              url: {http_sink.url}/upload/
              options:
                method: PUT
                headers: {{Authorization: {{env: UPLOAD_TOKEN}}, X-Key: {{file: {secret_file}}}}}
    """)
    previous = os.umask(0)   # whatever is written must set its own mode, not lean on the umask
    try:
        assert cli("apply", "-f", str(path)).code == 0
        for name in ("shipped", "posted"):
            result = cli("run", name, "-o", "json")
            record = json.loads(result.out)
            assert result.code == 0 and record["upload"]["status"] == "uploaded", result.err
        assert cli("suspend", "posted").code == 0 and cli("resume", "posted").code == 0
        assert cli("cleanup").code == 0
    finally:
        os.umask(previous)
    requests = http_sink.wait_for(3)
    put = next(r for r in requests if r.method == "PUT")
    assert put.headers["Authorization"] == UPLOAD_TOKEN and put.headers["X-Key"] == FILE_SECRET
    assert sum(r.headers.get("Authorization") == HOOK_TOKEN for r in requests) == 2

    found = modes(state_dir)
    assert {"state.json", "state.json.backup", "state.lock", "logs/audit.log"} <= set(found)
    assert any(k.startswith("executions/") and k.endswith(".json") for k in found)
    assert any(k.startswith("bundles/shipped/") and k.endswith(".tar.gz") for k in found)
    wrong = {k: f"{v[0]} {v[1]:04o}" for k, v in found.items()
             if v != (("dir", 0o700) if v[0] == "dir" else ("file", 0o600))}
    assert wrong == {}

    secrets = [value.encode() for value in (UPLOAD_TOKEN.split()[1], HOOK_TOKEN, FILE_SECRET)]
    scanned = 0
    for written in [state_dir / k for k, v in found.items() if v[0] == "file"] + list(share.rglob("*.tar.gz")):
        for name, data in contents(written):
            scanned += 1
            leaked = [s.decode() for s in secrets if s in data]
            assert not leaked, f"{written}:{name} holds {leaked}"
    assert scanned > 20


def contents(path: Path):
    """(member, bytes) of a file, and of every member of a .tar.gz (bundles are compressed: a plain grep
    of the archive would prove nothing)."""
    yield "", path.read_bytes()
    if path.name.endswith(".tar.gz"):
        with gzip.open(path) as raw:
            yield "<tar>", raw.read()
        with tarfile.open(path) as tar:
            for member in tar.getmembers():
                if member.isfile():
                    yield member.name, tar.extractfile(member).read()
