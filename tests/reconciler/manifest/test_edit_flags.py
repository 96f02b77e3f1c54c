"""`create`/`modify`'s flags as a manifest edit, without the command line."""
from __future__ import annotations

import pytest

from reconciler.base.errors import UsageError
from reconciler.manifest import edit as manifest_edit
from reconciler.manifest.edit_flags import Fields, redaction_mode, require_default_upload
from reconciler.manifest.normalize import ScheduleDefaults


def test_the_redaction_flags_make_one_mode_or_none() -> None:
    assert [redaction_mode(None, False), redaction_mode(True, False), redaction_mode(False, False),
            redaction_mode(None, True)] == [None, "mask", "off", "tokenize"]
    with pytest.raises(UsageError, match="--tokenize redacts"):
        redaction_mode(False, True)


def test_fields_become_changes_with_lists_split_and_upload_settings_for_the_url() -> None:
    doc = manifest_edit.new_document("prod")
    fields = Fields(cron="@daily", namespaces=["a,b", "c"], enabled=False, auto=True, labels=["team=x"],
                    upload="https://127.0.0.1:9/up", upload_options=["method=PUT"])
    changes = fields.changes(doc, "nightly", "/repo/schedules.yaml")
    assert changes.namespaces == ["a", "b", "c"] and changes.suspend is True and changes.labels == {"team": "x"}
    assert changes.auto is True and changes.upload_settings is not None
    with pytest.raises(UsageError, match="need an upload"):
        Fields(upload_options=["method=PUT"]).changes(doc, "nightly", "/repo/schedules.yaml")


def test_upload_enabled_needs_a_default_upload() -> None:
    doc = manifest_edit.new_document("prod")
    with pytest.raises(UsageError, match="--upload enabled"):
        require_default_upload(doc, ScheduleDefaults())
