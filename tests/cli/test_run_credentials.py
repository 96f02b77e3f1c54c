"""Credentials a run resolves stay with the upload and webhook they were named for (issue 17): the
collectors' child processes never get the variables a reference names, and every resolved value is
masked wherever it turns up in the bundle."""
from __future__ import annotations

import json
import tarfile
from pathlib import Path

import pytest

ENV_TOKEN = "tok-7f3a9c1e55d2b8"
HOOK_KEY = "hook-4e1d0b77a2c9f3"
FILE_CRED = "file-cred-91ab7c5d3e"


def _members(archive: Path) -> dict[str, bytes]:
    with tarfile.open(archive) as tar:
        return {m.name: tar.extractfile(m).read() for m in tar.getmembers() if m.isfile()}


@pytest.mark.parametrize("redaction", ["true", "false"])
def test_a_run_collector_never_sees_the_runs_credentials_and_the_bundle_masks_them(
        cli, write_manifest, sink, monkeypatch, tmp_path, redaction):
    monkeypatch.setenv("UPLOAD_TOKEN", ENV_TOKEN)
    monkeypatch.setenv("HOOK_KEY", HOOK_KEY)
    monkeypatch.setenv("HARMLESS", "stays-visible")
    secret_file = tmp_path / "cred.txt"
    secret_file.write_text(FILE_CRED + "\n")
    path = write_manifest(f"""
        apiVersion: sbsched/v1
        kind: ScheduleSet
        metadata: {{name: creds}}
        schedules:
          - name: leaky
            cron: "@daily"
            redact: {{enabled: {redaction}}}
            collect:
              cluster: false
              hostCollectors:
                - run: {{collectorName: environment, command: env}}
                - run: {{collectorName: echo, command: sh,
                         args: ["-c", "echo connecting with {ENV_TOKEN} and {FILE_CRED} and $UPLOAD_TOKEN"]}}
            upload:
              url: {sink.url}/up/
              options: {{headers: {{X-Up: {{env: UPLOAD_TOKEN}}, X-File: {{file: {secret_file}}}}}}}
            notify:
              - {{webhook: {sink.url}/hook, on: [success], headers: {{X-Hook-Key: {{env: HOOK_KEY}}}}}}
    """)
    assert cli("apply", "-f", str(path)).code == 0
    result = cli("run", "leaky", "-o", "json")
    assert result.code == 0, result.err
    record = json.loads(result.out)
    files = _members(Path(record["bundle"]["path"]))
    environment = next(data for name, data in files.items() if name.endswith("run-host/environment.txt"))
    assert b"HARMLESS=stays-visible" in environment          # the child has the rest of the environment
    assert b"UPLOAD_TOKEN" not in environment and b"HOOK_KEY" not in environment
    blob = b"\n".join(files.values())
    for value in (ENV_TOKEN, HOOK_KEY, FILE_CRED):
        assert value.encode() not in blob, f"{value} reached the bundle"
        assert value not in result.out
    assert b"connecting with ***HIDDEN*** and ***HIDDEN*** and\n" in blob   # $UPLOAD_TOKEN: unset
    assert record["redaction"]["byRedactor"].get("credentials", 0) >= 2
    uploads = [r for r in sink.wait_for(2) if r.path.startswith("/up/")]
    assert uploads and uploads[0].headers["X-Up"] == ENV_TOKEN and uploads[0].headers["X-File"] == FILE_CRED
    hooks = [r for r in sink.wait_for(2) if r.path == "/hook"]
    assert hooks and hooks[0].headers["X-Hook-Key"] == HOOK_KEY
