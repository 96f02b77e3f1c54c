"""stateMirror: apply publishes a read-only copy of the state (schedules and spec files, no status, no
credentials), and `diff --state URL|PATH` plans against it without a lock and without a local state dir."""
from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from ..conftest import run_sbsched
from ..delivery_fixtures import new_bucket, s3_client
from .test_gitops import APP_SPEC, MANIFEST, checkout

UPLOADING = MANIFEST + """\
    upload:
      url: "https://127.0.0.1:9/bundle?X-Amz-Signature=abcdef0123456789"
      credentials: {}
      options: {headers: {Authorization: {env: UPLOAD_TOKEN}}}
"""


@pytest.fixture
def share(tmp_path: Path, state_dir: Path) -> Path:
    """The host's state dir publishing to a file:// share."""
    state_dir.mkdir(mode=0o700)
    (state_dir / "config.yaml").write_text(f"stateMirror: file://{tmp_path / 'share'}/\n")
    return tmp_path / "share"


def test_apply_publishes_schedules_and_spec_files_and_nothing_else(cli, tmp_path, share, state_dir, monkeypatch):
    monkeypatch.setenv("UPLOAD_TOKEN", "token-value-never-published")
    manifest = checkout(tmp_path / "repo", manifest=UPLOADING)
    assert cli("apply", "-f", str(manifest)).code == 0
    published = share / "state-mirror.json"
    assert published.stat().st_mode & 0o777 == 0o600
    mirror = json.loads(published.read_text())
    current = json.loads((state_dir / "state.json").read_text())
    assert mirror["kind"] == "SbschedStateMirror" and mirror["format_version"] == "1.0"
    assert (mirror["lineage"], mirror["serial"]) == (current["lineage"], current["serial"])
    assert list(mirror["schedules"]["nightly"]) == ["set", "spec"]   # no status, no run history
    spec = mirror["schedules"]["nightly"]["spec"]
    assert spec["upload"]["url"] == "https://127.0.0.1:9/bundle?X-Amz-Signature=***HIDDEN***"
    assert spec["upload"]["options"]["headers"] == {"Authorization": {"env": "UPLOAD_TOKEN"}}
    assert sorted(mirror["specFiles"].values()) == sorted([APP_SPEC, (manifest.parent / "specs" / "redactor.yaml")
                                                           .read_text()])
    text = published.read_text()
    assert "token-value-never-published" not in text and "abcdef0123456789" not in text


def test_diff_against_the_mirror_is_clean_elsewhere_and_names_what_changed_inside_a_spec(cli, tmp_path, share,
                                                                                          state_dir, monkeypatch):
    assert cli("apply", "-f", str(checkout(tmp_path / "host", manifest=UPLOADING))).code == 0
    monkeypatch.setenv("TROUBLESHOOT_SCHEDULER_DIR", str(tmp_path / "ci-state"))   # CI has no state of its own
    ci = checkout(tmp_path / "ci", manifest=UPLOADING)
    for source in (str(share), str(share / "state-mirror.json"), f"file://{share}/"):
        clean = cli("diff", "-f", str(ci), "--state", source)
        assert (clean.code, clean.out) == (0, "No changes: set 'production' is up to date (1 schedules).\n")
    with open(ci.parent / "specs" / "app.yaml", "a") as spec:
        spec.write("  collectors:\n    - secret: {name: db-password, namespace: prod, includeValue: true}\n")
    changed = cli("diff", "-f", str(ci), "--state", str(share), "-o", "json")
    assert changed.code == 1
    (change,) = json.loads(changed.out)["changes"]
    assert [f["path"] for f in change["fields"]] == ["specFiles[specs/app.yaml]",
                                                     "specFiles[specs/app.yaml].collectors[secret/db-password]"]
    assert not (tmp_path / "ci-state").exists()


def test_a_source_that_is_no_mirror_is_exit_2_in_one_line(cli, tmp_path):
    manifest = checkout(tmp_path / "repo")
    (tmp_path / "other.json").write_text('{"kind": "ScheduleSet"}')
    for source, message in ((str(tmp_path / "missing.json"), "--state: cannot read the state mirror: "),
                            (str(tmp_path / "other.json"), "not a state mirror (kind is not SbschedStateMirror)"),
                            ("ftp://host/x", "unsupported URL scheme 'ftp://'")):
        result = cli("diff", "-f", str(manifest), "--state", source)
        assert result.code == 2 and message in result.err and len(result.err.splitlines()) <= 2, result.err


def test_a_failed_publish_is_a_warning_and_the_apply_stands(cli, tmp_path, state_dir):
    state_dir.mkdir(mode=0o700)
    (state_dir / "config.yaml").write_text("stateMirror: file:///proc/no-such-dir/\n")
    result = cli("apply", "-f", str(checkout(tmp_path / "repo")))
    assert result.code == 0 and "Applied set 'production'" in result.out
    assert "sbsched: warning: stateMirror: not published to file:///proc/no-such-dir/state-mirror.json" in result.err
    assert json.loads((state_dir / "state.json").read_text())["serial"] == 1


def test_a_bad_state_mirror_setting_is_named(cli, tmp_path, state_dir):
    state_dir.mkdir(mode=0o700)
    (state_dir / "config.yaml").write_text("stateMirror: {url: ftp://host/x}\n")
    result = cli("apply", "-f", str(checkout(tmp_path / "repo")))
    assert result.code == 0
    assert "stateMirror: expected a URL (s3://, gs://, https://, http:// or file://)" in result.err


def test_the_mirror_on_s3_through_the_uploaders_and_their_credentials(cli, tmp_path, state_dir, s3_env, monkeypatch):
    bucket = new_bucket(s3_env)
    state_dir.mkdir(mode=0o700)
    (state_dir / "config.yaml").write_text(f"stateMirror:\n  url: s3://{bucket}/sbsched/\n"
                                           f"  options: {{endpointUrl: '{s3_env}', region: us-east-1}}\n"
                                           "  credentials: {accessKeyId: {env: MIRROR_ID}, "
                                           "secretAccessKey: {env: MIRROR_SECRET}}\n")
    monkeypatch.setenv("MIRROR_ID", "testing")
    monkeypatch.setenv("MIRROR_SECRET", "testing")
    assert cli("apply", "-f", str(checkout(tmp_path / "host"))).code == 0
    body = s3_client(s3_env).get_object(Bucket=bucket, Key="sbsched/state-mirror.json")["Body"].read()
    assert json.loads(body)["schedules"]["nightly"]["set"] == "production"
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", s3_env)   # CI reads it with the default chain
    monkeypatch.setenv("TROUBLESHOOT_SCHEDULER_DIR", str(tmp_path / "ci-state"))
    result = cli("diff", "-f", str(checkout(tmp_path / "ci")), "--state", f"s3://{bucket}/sbsched/")
    assert result.code == 0, result.out + result.err


def test_ci_plans_against_the_mirror_and_the_host_applies_that_plan(tmp_path):
    """The whole flow, black box: the host publishes; CI (another checkout, no state dir) plans against the
    mirror and saves the plan; the host, its checkout updated, applies that plan."""
    share = tmp_path / "share"
    host_state = tmp_path / "host-state"
    host_state.mkdir(mode=0o700)
    (host_state / "config.yaml").write_text(f"stateMirror: file://{share}/\n")
    host_env = dict(os.environ, TROUBLESHOOT_SCHEDULER_DIR=str(host_state))
    ci_env = dict(os.environ, TROUBLESHOOT_SCHEDULER_DIR=str(tmp_path / "ci-state"))
    host = checkout(tmp_path / "host").parent
    assert run_sbsched("apply", "-f", "schedules.yaml", env=host_env, cwd=host).code == 0
    ci = checkout(tmp_path / "ci").parent
    (ci / "specs" / "app.yaml").write_text(APP_SPEC.replace("applied-version-1", "reviewed-version-2"))
    plan = run_sbsched("diff", "-f", "schedules.yaml", "--state", str(share), "--out", str(tmp_path / "plan.json"),
                       env=ci_env, cwd=ci)
    assert plan.code == 1 and "~ nightly: update" in plan.out, plan.err
    assert not (tmp_path / "ci-state").exists()
    early = run_sbsched("apply", str(tmp_path / "plan.json"), env=host_env, cwd=host)
    assert early.code == 1 and "specs/app.yaml changed" in early.err
    (host / "specs" / "app.yaml").write_text((ci / "specs" / "app.yaml").read_text())   # the merge reaches the host
    applied = run_sbsched("apply", str(tmp_path / "plan.json"), env=host_env, cwd=host)
    assert applied.code == 0, applied.err
    assert "1 updated" in applied.out
    assert run_sbsched("diff", "-f", "schedules.yaml", "--state", str(share), env=ci_env, cwd=ci).code == 0
    ran = run_sbsched("run", "nightly", "-o", "json", env=host_env, cwd=host)
    assert ran.code == 0 and json.loads(ran.out)["status"] == "completed"


def test_a_daemon_start_publishes_a_mirror_configured_after_the_last_apply(tmp_path, state_dir):
    """Configuring stateMirror takes a daemon (re)start, as every config.yaml setting does: that fills it."""
    from ..conftest import wait_until

    env = dict(os.environ, TROUBLESHOOT_SCHEDULER_DIR=str(state_dir))
    assert run_sbsched("apply", "-f", str(checkout(tmp_path / "host")), env=env).code == 0
    (state_dir / "config.yaml").write_text(f"stateMirror: file://{tmp_path / 'share'}/\n")
    assert run_sbsched("daemon", "start", env=env).code == 0
    try:
        wait_until(lambda: (tmp_path / "share" / "state-mirror.json").exists(), what="the mirror")
    finally:
        assert run_sbsched("daemon", "stop", env=env).code == 0
    mirror = json.loads((tmp_path / "share" / "state-mirror.json").read_text())
    assert list(mirror["schedules"]) == ["nightly"] and mirror["serial"] == 1
