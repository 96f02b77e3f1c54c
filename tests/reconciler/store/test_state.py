"""state.json writes are atomic, backed up, private, and refuse to run without the lock."""
from __future__ import annotations

import json
import os
from datetime import datetime, timezone

import pytest

from reconciler.store import state as state_store
from reconciler.store.state import StateStore, empty_state

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=timezone.utc)


def write(store: StateStore, state: dict) -> None:
    with store.locked(timeout=1, command="test", now=NOW):
        store.write(state)


def test_a_missing_state_reads_as_empty(tmp_path):
    assert StateStore(tmp_path / "none").read() == empty_state()


def test_the_first_write_sets_a_lineage_that_later_writes_keep(tmp_path):
    store = StateStore(tmp_path / "s")
    write(store, {**empty_state(), "serial": 1})
    lineage = store.read()["lineage"]
    assert lineage
    write(store, {**store.read(), "serial": 2})
    assert store.read()["lineage"] == lineage and store.read()["serial"] == 2
    assert json.loads(store.backup_path.read_text())["serial"] == 1


def test_a_crash_before_the_rename_leaves_the_old_state_and_no_temp_files(tmp_path, monkeypatch):
    store = StateStore(tmp_path / "s")
    write(store, {**empty_state(), "serial": 1})
    old = store.path.read_bytes()

    def crash(src, dst):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(state_store.os, "replace", crash)
    with pytest.raises(OSError):
        write(store, {**store.read(), "serial": 2})
    assert store.path.read_bytes() == old
    assert sorted(p.name for p in store.root.iterdir()) == ["state.json", "state.lock", "state.lock.d"]


def test_writing_without_the_lock_is_a_programming_error(tmp_path):
    with pytest.raises(RuntimeError, match="without holding the lock"):
        StateStore(tmp_path).write(empty_state())


def test_the_lock_file_names_its_holder_and_is_cleared_on_release(tmp_path):
    store = StateStore(tmp_path / "s")
    with store.locked(timeout=1, command="sbsched apply -f x.yaml", now=NOW):
        assert store.holder() == f"pid {os.getpid()} on {os.uname().nodename} (sbsched apply -f x.yaml) since {NOW.isoformat()}"
    assert store.lock_path.read_text() == ""
    assert store.holder() == "another sbsched process (holder unknown)"


def test_a_state_from_a_newer_sbsched_is_refused(tmp_path):
    store = StateStore(tmp_path)
    store.path.write_text(json.dumps({**empty_state(), "version": 99}))
    with pytest.raises(state_store.StateError, match="newer sbsched"):
        store.read()


def test_the_state_file_is_json_with_one_schedule_a_line(tmp_path):
    store = StateStore(tmp_path / "s")
    state = {**empty_state(), "serial": 3, "schedules": {"b": {"set": "p", "spec": {"cron": "@daily"}},
                                                         "a": {"set": "p", "spec": {"x": [1, "é"]}}}}
    write(store, state)
    text = store.path.read_text()
    assert json.loads(text) == state
    assert text.splitlines()[-4:] == ['"a": {"set":"p","spec":{"x":[1,"\\u00e9"]}},', '"b": {"set":"p","spec":{"cron":"@daily"}}',
                                      "}", "}"]
    write(store, {**empty_state(), "serial": 4})
    assert json.loads(store.path.read_text())["schedules"] == {}


def test_records_stream_from_the_line_layout_and_from_any_other_json(tmp_path):
    store = StateStore(tmp_path / "s")
    state = {**empty_state(), "serial": 1, "schedules": {"a": {"set": "p", "spec": {"cron": "@daily"}},
                                                         "b": {"set": "p", "spec": {"x": "y: z, w"}}}}
    write(store, state)
    streamed = {name: json.loads(raw) for name, raw in store.iter_records()}
    assert streamed == state["schedules"]
    store.path.write_text(json.dumps({**state, "lineage": "x"}, indent=4))  # e.g. hand-edited
    assert {name: json.loads(raw) for name, raw in store.iter_records()} == state["schedules"]
    write(store, {**empty_state(), "serial": 2})
    assert list(store.iter_records()) == []
    assert list(StateStore(tmp_path / "none").iter_records()) == []


def test_ensure_dir_creates_every_missing_parent_private_whatever_the_umask(tmp_path):
    import os

    from reconciler.store.paths import ensure_dir

    old = os.umask(0)
    try:
        ensure_dir(tmp_path / "a" / "b" / "c")
    finally:
        os.umask(old)
    for directory in (tmp_path / "a", tmp_path / "a" / "b", tmp_path / "a" / "b" / "c"):
        assert directory.stat().st_mode & 0o777 == 0o700, directory


def test_a_state_lock_file_deleted_just_after_it_was_locked_is_no_error(tmp_path, monkeypatch):
    """Found by make stress (lock-file-removal): `rm state.lock` between filelock's acquire and the holder
    record's write made that write, and so the apply, fail with 'No such file or directory'."""
    import filelock

    real_acquire = filelock.FileLock.acquire

    def acquire_then_lose_the_file(self, *args, **kwargs):
        held = real_acquire(self, *args, **kwargs)
        os.unlink(self.lock_file)
        return held

    monkeypatch.setattr(filelock.FileLock, "acquire", acquire_then_lose_the_file)
    store = StateStore(tmp_path)
    with store.locked(timeout=1, command="sbsched apply -f x.yaml", now=NOW):
        store.write({**empty_state(), "serial": 1})
        assert "(sbsched apply -f x.yaml)" in store.holder()
    assert store.read()["serial"] == 1
