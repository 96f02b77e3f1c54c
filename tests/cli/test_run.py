"""`sbsched run` end to end from the CLI: a real bundle from the real host specs, redacted, recorded."""
from __future__ import annotations

import json
import subprocess
import tarfile
from pathlib import Path

import yaml

from ..conftest import FIXTURES, wait_until

HOST_SPECS = sorted((FIXTURES / "specs" / "host").glob("*.yaml"))

SECRETS = {
    "aws_key_id": "AKIAIOSFODNN7EXAMPLE",
    "aws_secret": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
    "password": "hunter2-plain",
    "token": "tok-abc123-line-end",
    "postgres": "pg-s3cret",
    "mysql": "my-s3cret",
    "json_env": "json-env-s3cret",
    "multiline": "multi-line-s3cret",
    "static": "flamingo-static-value",
}
PLANTED = f"""aws_access_key_id = {SECRETS['aws_key_id']}
aws_secret_access_key = {SECRETS['aws_secret']}
connecting with password={SECRETS['password']}
auth token: {SECRETS['token']}
DATABASE_URL=postgres://admin:{SECRETS['postgres']}@127.0.0.1:5432/app
mysql://root:{SECRETS['mysql']}@127.0.0.1:3306/app
{{"name":"DB_PASSWORD","value":"{SECRETS['json_env']}"}}
            "name": "API_TOKEN",
            "value": "{SECRETS['multiline']}"
some flamingo-static-value here
a line that stays as it is
"""


def manifest(write_manifest, body: str, *, timeout: int = 120) -> Path:
    return write_manifest(f"""
        apiVersion: sbsched/v1
        kind: ScheduleSet
        metadata: {{name: host}}
        defaults:
          collect: {{cluster: false}}
          policy: {{timeoutSeconds: {timeout}}}
        schedules:
{body}
    """)


def _loopback_only(text: str) -> str:
    """tcpPortStatus without an `interface` dials the host's own first non-loopback address, as
    troubleshoot's does, and dns asks the nameservers of resolv.conf; tests may only reach 127.0.0.1,
    so pin the one to the loopback interface and exclude the other."""
    docs = list(yaml.safe_load_all(text))
    for doc in docs:
        for item in (doc.get("spec") or {}).get("collectors") or []:
            if isinstance(item, dict) and "tcpPortStatus" in item:
                item["tcpPortStatus"]["interface"] = "lo"
            if isinstance(item, dict) and "dns" in item:   # it asks resolv.conf's nameservers, off this host
                item["dns"]["exclude"] = True
    return yaml.safe_dump_all(docs, sort_keys=False)


def members(archive: Path) -> dict[str, bytes]:
    with tarfile.open(archive) as tar:
        return {m.name: tar.extractfile(m).read() for m in tar.getmembers() if m.isfile()}


def test_run_with_every_real_host_spec_makes_a_bundle_and_records_the_counts(cli, write_manifest, tmp_path,
                                                                                state_dir):
    specs_dir = tmp_path / "repo" / "specs" / "host"
    specs_dir.mkdir(parents=True)
    for spec in HOST_SPECS:
        (specs_dir / spec.name).write_text(_loopback_only(spec.read_text()))
    listed = ", ".join(f"specs/host/{s.name}" for s in HOST_SPECS)
    path = manifest(write_manifest, f"""          - name: host-all
            cron: "@daily"
            collect: {{specs: [{listed}]}}""")
    assert cli("apply", "-f", str(path)).code == 0
    result = cli("run", "host-all", "-o", "json")
    assert result.code == 0, result.err
    record = json.loads(result.out)
    assert record["status"] == "completed" and record["trigger"] == "manual"
    assert record["id"].startswith("host-all-") and record["id"].endswith("-manual-1")
    counts = record["bundle"]["collectors"]
    assert counts["succeeded"] > 10 and sum(counts.values()) == len(record["bundle"]["collectorResults"])
    archive = Path(record["bundle"]["path"])
    assert archive.parent == state_dir / "bundles" / "host-all" and archive.name.startswith("support-bundle-")
    files = members(archive)
    top = archive.name.removesuffix(".tar.gz")
    assert {f"{top}/version.yaml", f"{top}/analysis.json", f"{top}/execution-data/summary.txt"} <= set(files)
    assert f"{top}/host-collectors/system/cpu.json" in files
    summary = files[f"{top}/execution-data/summary.txt"].decode()
    for result_ in record["bundle"]["collectorResults"]:
        letter = {"succeeded": "S", "failed": "F", "skipped": "X"}[result_["status"]]
        assert f"({letter})" in summary
        if result_["status"] == "skipped" and "not supported" in (result_["reason"] or ""):
            assert f"{result_['kind']}" in summary
    assert json.loads(files[f"{top}/analysis.json"]) == []
    stored = json.loads((state_dir / "state.json").read_text())["schedules"]["host-all"]["status"]
    assert stored["lastResult"] == "completed" and stored["active"] == [] and stored["lastSuccessfulTime"]
    assert stored["lastScheduleTime"] is None  # manual runs do not take a slot
    history = cli("history", "host-all", "-o", "json")
    assert [r["id"] for r in json.loads(history.out)["items"]] == [record["id"]]
    again = json.loads(cli("run", "host-all", "-o", "json").out)
    assert again["id"] != record["id"] and Path(again["bundle"]["path"]) != archive


def test_planted_secrets_never_reach_the_archive_record_or_state(cli, write_manifest, tmp_path, state_dir):
    planted = tmp_path / "app.conf"
    planted.write_text(PLANTED)
    redactor = tmp_path / "repo" / "specs" / "e2e-redactor.yaml"
    redactor.write_text("apiVersion: troubleshoot.sh/v1beta2\nkind: Redactor\nmetadata: {name: e2e}\nspec:\n"
                        "  redactors:\n    - name: redact-static-text\n      removals: {values: [flamingo-static-value]}\n")
    path = manifest(write_manifest, f"""          - name: secrets
            cron: "@daily"
            redact: {{redactors: [specs/e2e-redactor.yaml]}}
            collect:
              hostCollectors:
                - run: {{collectorName: leaky, command: cat, args: ["{planted}"]}}
                - copy: {{collectorName: conf, path: "{planted}"}}""")
    cli("apply", "-f", str(path))
    result = cli("run", "secrets", "-o", "json")
    assert result.code == 0, result.err
    record = json.loads(result.out)
    files = members(Path(record["bundle"]["path"]))
    blob = b"\n".join(files.values())
    assert b"a line that stays as it is" in blob
    for name, value in SECRETS.items():
        assert value.encode() not in blob, f"{name} survived"
        assert value not in result.out and value not in (state_dir / "state.json").read_text()
    assert blob.count(b"***HIDDEN***") >= 2 * len(SECRETS)
    assert record["redaction"]["count"] >= 2 * len(SECRETS)
    assert record["redaction"]["byRedactor"].get("redact-static-text", 0) >= 2


def test_a_hanging_collector_is_killed_and_a_run_past_its_timeout_fails_with_a_partial_bundle(cli, write_manifest):
    path = manifest(write_manifest, """          - name: slow
            cron: "@daily"
            collect:
              hostCollectors:
                - cpu: {}
                - run: {collectorName: hang, command: sleep, args: ["301.25"], timeout: 1s}
                - run: {collectorName: forever, command: sleep, args: ["302.25"]}""", timeout=3)
    cli("apply", "-f", str(path))
    result = cli("run", "slow", "-o", "json")
    assert result.code == 1
    record = json.loads(result.out)
    assert (record["status"], record["reason"]) == ("failed", "timeout")
    assert record["durationSeconds"] < 30
    by_name = {r["name"]: r for r in record["bundle"]["collectorResults"]}
    assert by_name["cpu"]["status"] == "succeeded"
    assert by_name["hang"]["status"] == "failed" and by_name["forever"]["status"] == "failed"
    files = members(Path(record["bundle"]["path"]))
    assert any(n.endswith("host-collectors/system/cpu.json") for n in files)
    assert any(n.endswith("collector-errors/hang-error.json") for n in files)
    def sleepers_gone() -> bool:  # args unique to this test; the cancelled collector kills its child
        ps = subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True).stdout
        return "sleep 301.25" not in ps and "sleep 302.25" not in ps

    wait_until(sleepers_gone, timeout=10, what="the collectors' processes to be killed")


def test_run_of_an_unknown_schedule_is_exit_2(cli):
    result = cli("run", "nope")
    assert result.code == 2 and "no schedule named 'nope'" in result.err


def test_run_with_a_broken_spec_file_fails_cleanly_and_is_recorded(cli, write_manifest, tmp_path, state_dir):
    spec = tmp_path / "repo" / "specs" / "gone.yaml"
    spec.write_text("apiVersion: troubleshoot.sh/v1beta2\nkind: HostCollector\nspec: {collectors: [{cpu: {}}]}\n")
    path = manifest(write_manifest, """          - {name: broken, cron: "@daily", collect: {specs: [specs/gone.yaml]}}""")
    cli("apply", "-f", str(path))
    spec.write_text("kind: [\n")   # the file on disk: runs read the snapshot that was applied
    assert json.loads(cli("run", "broken", "-o", "json").out)["status"] == "completed"
    (snapshot,) = (state_dir / "spec-snapshots").iterdir()
    snapshot.write_text("kind: [\n")   # the snapshot itself: that one the run cannot use
    result = cli("run", "broken", "-o", "json")
    assert result.code == 1
    record = json.loads(result.out)
    assert (record["status"], record["reason"]) == ("failed", "spec")
    assert "was changed after it was applied" in record["error"]["message"]
    assert record["error"]["class"] == "permanent"
    assert json.loads(cli("history", "-o", "json").out)["items"][0]["status"] == "failed"


def test_a_run_uploads_its_bundle_and_a_failed_upload_keeps_it_and_fails_the_run(cli, write_manifest, tmp_path):
    share = tmp_path / "share"
    path = manifest(write_manifest, f"""          - name: shipped
            cron: "@daily"
            collect: {{hostCollectors: [{{hostOS: {{}}}}]}}
            upload: {{url: "file://{share}/"}}
          - name: stuck
            cron: "@daily"
            policy: {{retries: 0}}
            collect: {{hostCollectors: [{{hostOS: {{}}}}]}}
            upload: {{url: "file:///proc/no-such-dir/"}}""")
    assert cli("apply", "-f", str(path)).code == 0
    record = json.loads(cli("run", "shipped", "-o", "json").out)
    archive = Path(record["bundle"]["path"])
    uploaded = share / "host" / "shipped" / archive.name
    assert record["status"] == "completed" and record["upload"]["status"] == "uploaded"
    assert record["upload"]["url"] == uploaded.as_uri() and uploaded.read_bytes() == archive.read_bytes()
    result = cli("run", "stuck", "-o", "json")
    failed = json.loads(result.out)
    assert result.code == 1 and (failed["status"], failed["reason"]) == ("failed", "upload")
    assert failed["upload"]["status"] == "failed" and failed["error"]["class"] == "permanent"
    assert Path(failed["bundle"]["path"]).is_file()


def test_sbsched_run_uploads_to_s3_and_gcs_and_the_objects_match_the_records_sha256(cli, write_manifest, s3_env,
                                                                                    gcs_env, monkeypatch):
    import hashlib

    from ..delivery_fixtures import gcs_client, new_bucket, new_gcs_bucket, s3_client

    bucket, gcs_bucket = new_bucket(s3_env), new_gcs_bucket(gcs_env)
    monkeypatch.setenv("SBSCHED_TEST_KEY_ID", "testing")
    monkeypatch.setenv("SBSCHED_TEST_SECRET", "testing")
    path = manifest(write_manifest, f"""          - name: to-s3
            cron: "@daily"
            collect: {{hostCollectors: [{{hostOS: {{}}}}]}}
            upload:
              url: s3://{bucket}/nightly/
              options: {{endpointUrl: "{s3_env}", region: us-east-1, serverSideEncryption: AES256}}
              credentials: {{accessKeyId: {{env: SBSCHED_TEST_KEY_ID}}, secretAccessKey: {{env: SBSCHED_TEST_SECRET}}}}
          - name: to-gcs
            cron: "@daily"
            collect: {{hostCollectors: [{{hostOS: {{}}}}]}}
            upload: {{url: "gs://{gcs_bucket}/nightly/"}}""")
    assert cli("apply", "-f", str(path)).code == 0
    s3_record = json.loads(cli("run", "to-s3", "-o", "json").out)
    key = f"nightly/host/to-s3/{Path(s3_record['bundle']['path']).name}"
    assert (s3_record["status"], s3_record["upload"]["url"]) == ("completed", f"s3://{bucket}/{key}")
    obj = s3_client(s3_env).get_object(Bucket=bucket, Key=key)
    assert hashlib.sha256(obj["Body"].read()).hexdigest() == s3_record["bundle"]["sha256"]
    assert obj["ServerSideEncryption"] == "AES256"
    gcs_record = json.loads(cli("run", "to-gcs", "-o", "json").out)
    name = f"nightly/host/to-gcs/{Path(gcs_record['bundle']['path']).name}"
    assert (gcs_record["status"], gcs_record["upload"]["url"]) == ("completed", f"gs://{gcs_bucket}/{name}")
    blob = gcs_client(gcs_env).bucket(gcs_bucket).blob(name)
    assert hashlib.sha256(blob.download_as_bytes()).hexdigest() == gcs_record["bundle"]["sha256"]


def test_a_copied_gzip_log_is_redacted_inside_and_a_binary_is_reported_not_scanned(cli, write_manifest, tmp_path,
                                                                                   state_dir):
    """A `copy` of a compressed log went into the bundle unscanned, and binaries were passed without a word."""
    import gzip

    logs = tmp_path / "logs"
    logs.mkdir()
    (logs / "app.log.gz").write_bytes(gzip.compress(b"starting\npassword=gz-planted-pw\nready\n"))
    (logs / "core.bin").write_bytes(b"\x7fELF\0\0\0password=bin-planted-pw\n")
    path = manifest(write_manifest, f"""          - name: copies
            cron: "@daily"
            collect:
              hostCollectors:
                - copy: {{collectorName: logs, path: "{logs}/*"}}""")
    cli("apply", "-f", str(path))
    result = cli("run", "copies", "-o", "json")
    assert result.code == 0, result.err
    record = json.loads(result.out)
    files = members(Path(record["bundle"]["path"]))
    [log] = [data for name, data in files.items() if name.endswith("app.log.gz")]
    assert gzip.decompress(log) == b"starting\npassword=***HIDDEN***\nready\n"
    assert record["redaction"]["byFile"] == {"host-collectors/logs/app.log.gz": 1}
    assert record["redaction"]["notScanned"] == {"host-collectors/logs/core.bin": "binary"}
    [stored] = json.loads(cli("history", "copies", "-o", "json").out)["items"]
    assert stored["redaction"] == record["redaction"]
    text = cli("run", "copies").out
    assert "Not scanned: 1 file (binary): host-collectors/logs/core.bin" in text
