"""The query values of URLs are credentials (a presigned URL's X-Amz-Signature, a token=...): the audit
log, logs, execution records and plan output mask them, as they mask the password of a URL's user info
(issue 17). The state keeps the URL as written: the upload needs it."""
from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

SIGNATURE = "5e1f7a0b9c3d2e8f4a6b"
TOKEN = "qt0k-8c7d6e5f"
PASSWORD = "pa55-w0rd-77"
PRESIGNED = (f"https://127.0.0.1:9/up/b.tar.gz?X-Amz-Algorithm=AWS4-HMAC-SHA256"
             f"&X-Amz-Signature={SIGNATURE}&token={TOKEN}")
SECRETS = (SIGNATURE, TOKEN, PASSWORD)


def _clean(text: str) -> None:
    for value in SECRETS:
        assert value not in text


def test_create_and_modify_with_a_presigned_url_keep_its_signature_out_of_audit_and_plans(cli, tmp_path, state_dir):
    (tmp_path / "repo").mkdir()
    path = str(tmp_path / "repo" / "schedules.yaml")
    created = cli("create", "nightly", "--cron", "0 2 * * *", "--upload", PRESIGNED, "-f", path, "--apply")
    assert created.code == 0, created
    modified = cli("modify", "nightly", "--upload", f"https://u:{PASSWORD}@127.0.0.1:9/p?token={TOKEN}x",
                   "-f", path)
    assert modified.code == 0, modified
    diff_text = cli("diff", "-f", path)
    diff_json = cli("diff", "-f", path, "-o", "json")
    assert diff_text.code == 1 and diff_json.code == 1
    applied = cli("apply", "-f", path, "-o", "json")
    assert applied.code == 0, applied
    again = cli("modify", "nightly", "--upload", f"https://u:{PASSWORD}@127.0.0.1:9/q?token={TOKEN}", "-f", path,
                "--apply", "-o", "json")
    assert again.code == 0, again
    for shown in (created.out, modified.out, diff_text.out, diff_json.out, applied.out, again.out):
        _clean(shown)
    assert "X-Amz-Signature=***HIDDEN***" in created.out + diff_json.out
    audit = (state_dir / "logs" / "audit.log").read_text()
    _clean(audit)
    assert "X-Amz-Signature=***HIDDEN***" in audit and "u:***HIDDEN***@127.0.0.1:9" in audit
    plan = json.loads(diff_json.out)
    assert plan["changes"][0]["fields"][0]["path"] == "upload.url"
    stored = json.loads((state_dir / "state.json").read_text())
    assert stored["schedules"]["nightly"]["spec"]["upload"]["url"].endswith(f"token={TOKEN}")   # as written


@pytest.mark.parametrize("log_format", ["text", "json"])
def test_log_lines_mask_url_query_values_and_passwords(log_format, capsys):
    from reconciler.daemon.logs import configure_logging

    configure_logging(log_format)
    try:
        logging.getLogger("sbsched.test").warning("upload to %s failed; retrying https://u:%s@127.0.0.1:9/x", PRESIGNED,
                                                  PASSWORD)
    finally:
        logging.getLogger("sbsched").handlers.clear()
    err = capsys.readouterr().err
    _clean(err)
    assert "X-Amz-Algorithm=***HIDDEN***" in err and "https://u:***HIDDEN***@127.0.0.1:9/x" in err


def test_execution_records_mask_url_query_values(tmp_path):
    from reconciler.store import executions

    record = {"id": "s-20260101T0000Z", "schedule": "s", "scheduledTime": "2026-01-01T00:00:00+00:00",
              "status": "failed", "error": {"class": "transient",
                                            "message": f"GET {PRESIGNED}: connection refused (url: /up?token={TOKEN})"}}
    written = executions.write(tmp_path, record)
    text = Path(written).read_text()
    _clean(text)
    assert "token=***HIDDEN***" in text


@pytest.mark.parametrize(("text", "shown"), [
    ("s3://bucket/prefix/", "s3://bucket/prefix/"),
    ("see https://127.0.0.1:9/p?a=1&b&c=#frag.", "see https://127.0.0.1:9/p?a=***HIDDEN***&***HIDDEN***&c=***HIDDEN***#frag."),
    ("ftp://user:pw@127.0.0.1:9/x and https://user@127.0.0.1:9/", "ftp://user:***HIDDEN***@127.0.0.1:9/x and https://user@127.0.0.1:9/"),
    ("Max retries exceeded with url: /up?token=abc (Caused by", "Max retries exceeded with url: /up?token=***HIDDEN*** (Caused by"),
    ("a question? and/or this", "a question? and/or this"),
])
def test_urls_in_text_are_masked_and_masking_twice_changes_nothing(text, shown):
    from reconciler.base.masking import mask_text

    assert mask_text(text) == shown
    assert mask_text(shown) == shown
