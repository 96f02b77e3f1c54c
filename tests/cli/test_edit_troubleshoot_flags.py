"""create / modify with the flags of troubleshoot's `schedule create`: each lands in the manifest where it
means the same, and a literal secret never does."""
from __future__ import annotations

from pathlib import Path

import pytest
import yaml


@pytest.fixture
def work(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "work").mkdir()
    monkeypatch.chdir(tmp_path / "work")
    for name in ("a.yaml", "b.yaml", "c.yaml"):
        (tmp_path / "work" / name).write_text("apiVersion: troubleshoot.sh/v1beta2\nkind: SupportBundle\n"
                                              "metadata: {name: x}\nspec: {collectors: [{clusterInfo: {}}]}\n")
    return tmp_path / "work"


def schedule(work: Path, name: str) -> dict:
    data = yaml.safe_load((work / "schedules.yaml").read_text())
    return next(s for s in data["schedules"] if s["name"] == name)


def test_every_flag_of_troubleshoots_create_lands_where_it_means_the_same(cli, work: Path):
    result = cli("create", "weekly-deep", "-c", "0 0 * * 1", "-z", "Europe/Berlin", "-e", "false", "-n", "a,b",
                 "-n", "c", "-s", "a.yaml,b.yaml", "-s", "c.yaml", "--auto", "--no-redact", "--no-analyze",
                 "--upload", "s3://bucket/prefix/", "--upload-options", "region=us-west-2,sse=AES256",
                 "--upload-options", "storage-class=STANDARD_IA,access-key-id-env=AK,secret-access-key-file=sk.txt",
                 "-d", "Weekly deep collection", "--labels", "team=ops,tier=1")
    assert result.code == 0, result.err
    assert schedule(work, "weekly-deep") == {
        "name": "weekly-deep", "description": "Weekly deep collection", "cron": "0 0 * * 1",
        "timezone": "Europe/Berlin", "suspend": True, "labels": {"team": "ops", "tier": "1"},
        "collect": {"specs": ["a.yaml", "b.yaml", "c.yaml"], "namespaces": ["a", "b", "c"], "auto": True},
        "redact": {"enabled": False}, "analyze": {"enabled": False},
        "upload": {"url": "s3://bucket/prefix/",
                   "options": {"region": "us-west-2", "serverSideEncryption": "AES256", "storageClass": "STANDARD_IA"},
                   "credentials": {"accessKeyId": {"env": "AK"}, "secretAccessKey": {"file": str(work / "sk.txt")}}}}
    assert "Next run: none (suspended)" in result.out


def test_create_says_when_it_runs_next_and_that_no_daemon_runs_it(cli, work: Path):
    result = cli("create", "daily-check", "--cron", "0 2 * * *", "--namespace", "myapp")
    assert result.code == 0, result.err
    assert "Next run: " in result.out and "T02:00:00+00:00 (UTC), once applied" in result.out
    assert "warning: the sbsched daemon is not running" in result.err and "sbsched daemon start" in result.err
    assert cli("create", "without-cron").code == 2


@pytest.mark.parametrize("options", ["auth=bearer,token=s3cr3t-t0ken", "token=s3cr3t-t0ken",
                                     "header.Authorization=Bearer s3cr3t-t0ken"])
def test_a_literal_secret_in_upload_options_is_refused_with_the_reference_form_and_never_shown(
        cli, work: Path, state_dir: Path, options: str):
    result = cli("create", "customer-job", "-c", "@daily", "--upload", "https://127.0.0.1:9/upload",
                 "--upload-options", options)
    assert result.code == 2 and "s3cr3t" not in result.err + result.out
    assert "token-env=NAME" in result.err or "{env: VAR}" in result.err, result.err
    assert len(result.err.strip().splitlines()) == 2   # the error and its hint, no traceback
    assert not (work / "schedules.yaml").exists() and not (state_dir / "logs" / "audit.log").exists()


def test_bearer_tokens_and_credentials_become_references(cli, work: Path):
    assert cli("create", "api", "-c", "@daily", "--upload", "https://127.0.0.1:9/upload",
               "--upload-options", "auth=bearer,token-env=CUSTOMER_UPLOAD_TOKEN,content-type=application/gzip,"
               "method=post").code == 0
    assert schedule(work, "api")["upload"]["options"] == {
        "bearerToken": {"env": "CUSTOMER_UPLOAD_TOKEN"}, "method": "POST", "headers": {"Content-Type": "application/gzip"}}
    assert cli("create", "gcs", "-c", "@daily", "--upload", "gs://customer-bucket/troubleshoot/",
               "--upload-credentials", "/path/to/customer-service-account.json").code == 0
    assert schedule(work, "gcs")["upload"]["credentials"] == {
        "serviceAccountFile": "/path/to/customer-service-account.json"}
    assert cli("create", "api2", "-c", "@daily", "--upload", "https://127.0.0.1:9/up",
               "--upload-credentials", "UPLOAD_TOKEN").code == 0
    assert schedule(work, "api2")["upload"]["options"] == {"bearerToken": {"env": "UPLOAD_TOKEN"}}
    assert cli("modify", "api2", "--upload-credentials", "token.txt").code == 0
    assert schedule(work, "api2")["upload"]["options"] == {"bearerToken": {"file": str(work / "token.txt")}}


@pytest.mark.parametrize("args, message", [
    (["--upload", "https://127.0.0.1:9/x", "--upload-options", "region=eu-west-1"], "an option of s3:// uploads, not of https://"),
    (["--upload", "s3://b/", "--upload-options", "colour=blue"], "unknown key 'colour'"),
    (["--upload", "s3://b/", "--upload-options", "region"], "expected KEY=VALUE pairs"),
    (["--upload", "https://127.0.0.1:9/x", "--upload-options", "auth=basic"], "expected auth=bearer"),
    (["--upload", "https://127.0.0.1:9/x", "--upload-options", "auth=bearer"], "needs the token"),
    (["--upload", "s3://b/", "--upload-credentials", "AWS"], "names its credentials in --upload-options"),
    (["--upload", "gs://b/", "--upload-credentials", "GCP_KEY"], "takes a service-account key file"),
    (["--upload-options", "region=x"], "need an upload: give --upload URL"),
    (["-e", "maybe"], "is not a valid boolean"),
])
def test_flags_that_cannot_mean_anything_here_are_one_line_errors(cli, work: Path, args: list[str], message: str):
    result = cli("create", "x", "-c", "@daily", *args)
    assert result.code == 2 and message in result.err, result.err
    assert "Traceback" not in result.err and not (work / "schedules.yaml").exists()


def test_modify_enables_a_disabled_schedule_and_adds_upload_options_to_its_upload(cli, work: Path):
    assert cli("create", "s", "-c", "@daily", "-e", "false", "--upload", "s3://b/").code == 0
    assert cli("modify", "s", "--enabled=true", "--upload-options", "endpoint=http://127.0.0.1:9000").code == 0
    assert schedule(work, "s") == {"name": "s", "cron": "@daily", "suspend": False,
                                   "upload": {"url": "s3://b/", "options": {"endpointUrl": "http://127.0.0.1:9000"}}}
    assert cli("modify", "s", "-d", "now described", "--labels", "a=b").code == 0
    assert cli("modify", "s", "-d", "").code == 0
    assert "description" not in schedule(work, "s") and schedule(work, "s")["labels"] == {"a": "b"}
