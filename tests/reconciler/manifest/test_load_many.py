"""`validate`'s several files without the command line: each on its own, an unreadable one an entry."""
from __future__ import annotations

from pathlib import Path

import pytest

from reconciler.base.errors import SbschedError
from reconciler.manifest.load import load_manifests

GOOD = ("apiVersion: sbsched/v1\nkind: ScheduleSet\nmetadata: {name: prod}\nschedules:\n"
        "  - {name: nightly, cron: '0 2 * * *', collect: {cluster: false}}\n")


def test_several_files_are_each_checked_and_an_unreadable_one_is_its_error(tmp_path: Path) -> None:
    good, bad, missing = tmp_path / "good.yaml", tmp_path / "bad.yaml", str(tmp_path / "missing.yaml")
    good.write_text(GOOD)
    bad.write_text(GOOD.replace("0 2 * * *", "61 * * * *"))
    found = dict(load_manifests([str(good), missing, str(bad)]))
    assert [type(r).__name__ for r in found.values()] == ["LoadResult", "ManifestError", "LoadResult"]
    assert not isinstance(found[str(good)], SbschedError) and found[str(good)].valid
    assert not isinstance(found[str(bad)], SbschedError) and not found[str(bad)].valid
    with pytest.raises(SbschedError):
        load_manifests([missing])
