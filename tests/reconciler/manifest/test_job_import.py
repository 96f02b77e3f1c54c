"""`import troubleshoot`'s use case without the command line: jobs read, converted, imported once."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from reconciler.base.errors import UsageError
from reconciler.manifest import edit as manifest_edit
from reconciler.manifest.job_import import import_jobs, read_source
from tests.cli.test_import_troubleshoot import job


def test_jobs_become_schedules_once_and_unconvertible_ones_are_listed(tmp_path: Path) -> None:
    (tmp_path / "a.json").write_text(json.dumps(job("job-1", "daily-check", "0 2 * * *", namespace="prod")))
    (tmp_path / "b.json").write_text(json.dumps(job("job-2", "friday-13th", "0 2 13 * 5")))
    (tmp_path / "junk.json").write_text("not json")
    source = read_source(str(tmp_path), "Asia/Tokyo")
    assert source.zone == "Asia/Tokyo" and source.zone_given and len(source.jobs) == 2 and len(source.bad) == 1
    doc = manifest_edit.new_document("migrated")
    first = import_jobs(doc, source, path="schedules.yaml")
    assert first.converted == 1 and manifest_edit.names(doc) == ["daily-check"]
    assert len(first.left) == 1 and "friday-13th" in first.left[0]
    assert any("skipped" in line and "junk.json" in line for line in first.lines)
    again = import_jobs(doc, source, path="schedules.yaml")
    assert again.converted == 0 and any("was imported before as 'daily-check'" in line for line in again.lines)


def test_a_missing_directory_is_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="no such directory"):
        read_source(str(tmp_path / "none"), "UTC")
