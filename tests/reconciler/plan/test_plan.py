"""The planner is pure: stored schedules + desired set → changes. No disk, no clock."""
from __future__ import annotations

import pytest

from reconciler.base.errors import ConflictError
from reconciler.manifest.normalize import ScheduleSet, fill_defaults
from reconciler.plan.plan import Action, StoredSchedule, field_changes, make_plan


def spec(**overrides):
    return fill_defaults({"cron": "0 2 * * *", **overrides})


def test_create_update_delete_and_no_op_are_planned_and_sorted_by_name():
    stored = {"keep": StoredSchedule("prod", spec()), "change": StoredSchedule("prod", spec()),
              "gone": StoredSchedule("prod", spec()), "theirs": StoredSchedule("staging", spec())}
    desired = ScheduleSet("prod", {"keep": spec(), "change": spec(cron="0 3 * * *"), "new": spec()})
    plan = make_plan(stored, desired, serial=7)
    assert [(c.name, c.action) for c in plan.changes] == [
        ("change", Action.UPDATE), ("gone", Action.DELETE), ("keep", Action.NOOP), ("new", Action.CREATE)]
    assert plan.summary == {"create": 1, "update": 1, "delete": 1, "no-op": 1}
    assert plan.serial == 7 and plan.has_changes


def test_a_schedule_owned_by_another_set_is_a_conflict_naming_the_set():
    stored = {"nightly": StoredSchedule("staging", spec())}
    with pytest.raises(ConflictError, match="'nightly' \\(owned by set 'staging'\\)") as info:
        make_plan(stored, ScheduleSet("prod", {"nightly": spec()}))
    assert info.value.exit_code == 2


def test_a_stored_spec_missing_a_newer_default_is_not_a_change():
    old = spec()
    del old["policy"]["jitterSeconds"], old["analyze"]["failRun"]
    plan = make_plan({"a": StoredSchedule("prod", old)}, ScheduleSet("prod", {"a": spec()}))
    assert [c.action for c in plan.changes] == [Action.NOOP]


def test_field_changes_are_leaf_paths_with_before_and_after():
    before = {"policy": {"retries": 2}, "collect": {"specs": ["/a", "/b"]}, "upload": None, "labels": {"x": "1"}}
    after = {"policy": {"retries": 5}, "collect": {"specs": ["/a", "/c"]}, "upload": {"url": "s3://b/"},
             "labels": {}}
    assert [(f.path, f.before, f.after) for f in field_changes(before, after)] == [
        ("collect.specs[1]", "/b", "/c"), ("labels.x", "1", None), ("policy.retries", 2, 5),
        ("upload", None, {"url": "s3://b/"})]


def test_an_empty_desired_set_is_flagged_for_the_allow_empty_guard():
    plan = make_plan({"a": StoredSchedule("prod", spec())}, ScheduleSet("prod", {}))
    assert plan.empty_manifest and plan.summary["delete"] == 1


def test_plan_json_has_the_contract_shape():
    plan = make_plan({}, ScheduleSet("prod", {"a": spec()}))
    doc = plan.to_json()
    assert list(doc) == ["format_version", "set", "changes", "summary", "serial", "lineage", "basis", "inputs"]
    assert doc["changes"][0] == {"name": "a", "action": "create", "before": None, "after": spec(), "fields": []}
