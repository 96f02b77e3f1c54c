"""`diff` and `apply` from the CLI: exit codes, plans, ownership, no-op writes and the empty guard."""
from __future__ import annotations

import json
import os

import pytest

BASE = """
    apiVersion: sbsched/v1
    kind: ScheduleSet
    metadata: {name: production}
    defaults:
      timezone: Europe/Berlin
    schedules:
      - name: nightly
        cron: "0 2 * * *"
        collect: {specs: [specs/host-cpu.yaml]}
      - name: hourly
        cron: "@hourly"
        policy: {timeoutSeconds: 600}
"""

# Same schedules: reordered, reformatted (flow vs block), and defaults written out explicitly.
EQUIVALENT = """
    kind: ScheduleSet
    apiVersion: sbsched/v1
    metadata:
      name: production
    schedules:
    - cron: '@hourly'
      name: hourly
      timezone: Europe/Berlin
      suspend: false
      policy: {timeoutSeconds: 600, concurrency: Forbid, retries: 2, backoffSeconds: 30, startingDeadlineSeconds: null}
      retention: {keepLast: 10}
    - {name: nightly, cron: "0 2 * * *", timezone: Europe/Berlin, collect: {specs: ["./specs/../specs/host-cpu.yaml"], cluster: true}, redact: {enabled: true}}
"""


def state(state_dir):
    return json.loads((state_dir / "state.json").read_text())


def test_diff_exits_1_with_changes_and_0_once_applied(cli, write_manifest):
    path = str(write_manifest(BASE))
    first = cli("diff", "-f", path)
    assert first.code == 1
    assert "+ hourly: create (cron '@hourly', Europe/Berlin)" in first.out
    assert "Plan for set 'production': 2 to create, 0 to update, 0 to delete, 0 unchanged." in first.out
    assert cli("apply", "-f", path).code == 0
    clean = cli("diff", "-f", path)
    assert (clean.code, clean.out) == (0, "No changes: set 'production' is up to date (2 schedules).\n")


def test_reordering_reformatting_and_explicit_defaults_show_no_change(cli, write_manifest):
    assert cli("apply", "-f", str(write_manifest(BASE))).code == 0
    result = cli("diff", "-f", str(write_manifest(EQUIVALENT, "same.yaml")), "-o", "json")
    assert result.code == 0, result.out
    assert json.loads(result.out)["summary"] == {"create": 0, "update": 0, "delete": 0, "no-op": 2}


def test_diff_json_shows_update_field_by_field(cli, write_manifest):
    cli("apply", "-f", str(write_manifest(BASE)))
    changed = BASE.replace("timeoutSeconds: 600", "timeoutSeconds: 900, retries: 5").replace('"0 2 * * *"', '"0 3 * * *"')
    result = cli("diff", "-f", str(write_manifest(changed)), "-o", "json")
    assert result.code == 1
    plan = json.loads(result.out)
    assert plan["format_version"] == "1.1" and plan["set"] == "production"
    assert plan["summary"] == {"create": 0, "update": 2, "delete": 0, "no-op": 0}
    hourly = next(c for c in plan["changes"] if c["name"] == "hourly")
    assert hourly["action"] == "update"
    assert hourly["fields"] == [{"path": "policy.retries", "before": 2, "after": 5},
                                {"path": "policy.timeoutSeconds", "before": 600, "after": 900}]
    assert hourly["before"]["policy"]["timeoutSeconds"] == 600 and hourly["after"]["policy"]["timeoutSeconds"] == 900
    text = cli("diff", "-f", str(write_manifest(changed))).out
    assert "~ nightly: update\n    cron: \"0 2 * * *\" -> \"0 3 * * *\"\n" in text


def test_diff_of_an_invalid_manifest_is_exit_2_with_the_diagnostics(cli, write_manifest):
    result = cli("diff", "-f", str(write_manifest(BASE.replace("@hourly", "@sometimes"))))
    assert result.code == 2
    assert "is invalid (1 error(s))" in result.err and "schedules[1].cron: invalid cron '@sometimes'" in result.err
    assert "Traceback" not in result.err


def test_a_second_apply_is_a_no_op_that_does_not_rewrite_the_state(cli, write_manifest, state_dir):
    path = str(write_manifest(BASE))
    assert cli("apply", "-f", path).code == 0
    before = (state_dir / "state.json").read_bytes(), os.stat(state_dir / "state.json").st_mtime_ns
    second = cli("apply", "-f", path)
    assert second.code == 0 and "No changes" in second.out
    assert ((state_dir / "state.json").read_bytes(), os.stat(state_dir / "state.json").st_mtime_ns) == before
    assert state(state_dir)["serial"] == 1
    assert not (state_dir / "state.json.backup").exists()
    audit = (state_dir / "logs" / "audit.log").read_text().splitlines()
    assert len(audit) == 1 and json.loads(audit[0])["summary"]["create"] == 2


def test_dry_run_writes_nothing(cli, write_manifest, state_dir):
    result = cli("apply", "-f", str(write_manifest(BASE)), "--dry-run")
    assert result.code == 0 and "(dry run: nothing written)" in result.out
    assert not (state_dir / "state.json").exists()


def test_removing_a_schedule_deletes_it_and_keeps_a_backup(cli, write_manifest, state_dir):
    cli("apply", "-f", str(write_manifest(BASE)))
    first = (state_dir / "state.json").read_bytes()
    only_nightly = BASE.split("      - name: hourly")[0]
    result = cli("apply", "-f", str(write_manifest(only_nightly)))
    assert result.code == 0 and "- hourly: delete" in result.out
    assert sorted(state(state_dir)["schedules"]) == ["nightly"]
    assert (state_dir / "state.json.backup").read_bytes() == first
    assert state(state_dir)["serial"] == 2


def test_another_sets_schedules_are_untouched_and_cannot_be_taken(cli, write_manifest, state_dir):
    cli("apply", "-f", str(write_manifest(BASE)))
    other = """
        apiVersion: sbsched/v1
        kind: ScheduleSet
        metadata: {name: staging}
        schedules:
          - {name: staging-nightly, cron: "0 4 * * *"}
    """
    assert cli("apply", "-f", str(write_manifest(other, "staging.yaml"))).code == 0
    assert {n: r["set"] for n, r in state(state_dir)["schedules"].items()} == {
        "nightly": "production", "hourly": "production", "staging-nightly": "staging"}
    grab = other.replace("staging-nightly", "nightly")
    result = cli("apply", "-f", str(write_manifest(grab, "grab.yaml")))
    assert result.code == 2
    assert "'nightly' (owned by set 'production')" in result.err
    assert state(state_dir)["schedules"]["nightly"]["set"] == "production"


def test_an_empty_schedule_list_deletes_the_set_only_with_allow_empty(cli, write_manifest, state_dir):
    cli("apply", "-f", str(write_manifest(BASE)))
    empty = str(write_manifest(BASE.split("    schedules:")[0] + "    schedules: []\n", "empty.yaml"))
    for command in ("diff", "apply"):
        refused = cli(command, "-f", empty)
        assert refused.code == 2 and "would delete all 2 schedules of set 'production'" in refused.err
        assert "--allow-empty" in refused.err
    assert len(state(state_dir)["schedules"]) == 2
    allowed = cli("apply", "-f", empty, "--allow-empty")
    assert allowed.code == 0 and state(state_dir)["schedules"] == {}


def test_status_survives_an_update_and_next_run_is_recomputed(cli, write_manifest, state_dir):
    cli("apply", "-f", str(write_manifest(BASE)))
    first = state(state_dir)["schedules"]["nightly"]
    assert first["status"]["nextRunTime"].endswith(("+01:00", "+02:00"))
    assert first["status"]["nextRunTime"][11:19] == "02:00:00"
    cli("apply", "-f", str(write_manifest(BASE.replace('"0 2 * * *"', '"30 5 * * *"'))))
    second = state(state_dir)["schedules"]["nightly"]
    assert second["status"]["nextRunTime"][11:19] == "05:30:00"
    assert second["metadata"]["generation"] == 2
    assert second["metadata"]["createdTime"] == first["metadata"]["createdTime"]


@pytest.mark.parametrize("mode", [0o700])
def test_state_dir_and_files_are_private(cli, write_manifest, state_dir, mode):
    cli("apply", "-f", str(write_manifest(BASE)))
    cli("apply", "-f", str(write_manifest(BASE.replace("600", "700"))))
    assert state_dir.stat().st_mode & 0o777 == mode
    for path in [p for p in state_dir.rglob("*") if p.is_file()]:
        assert path.stat().st_mode & 0o777 == 0o600, path
    for path in [p for p in state_dir.rglob("*") if p.is_dir()]:
        assert path.stat().st_mode & 0o777 == 0o700, path


def test_the_written_state_matches_the_state_schema(cli, write_manifest, state_dir):
    import jsonschema

    from reconciler import schemas

    cli("apply", "-f", str(write_manifest(BASE)))
    jsonschema.Draft202012Validator(schemas.load("state")).validate(state(state_dir))


def test_plan_output_is_stable_text_and_json(cli, write_manifest, snapshot):
    no_files = BASE.replace("        collect: {specs: [specs/host-cpu.yaml]}\n", "")
    cli("apply", "-f", str(write_manifest(no_files)))
    changed = (no_files.replace("timeoutSeconds: 600", "timeoutSeconds: 900")
               .replace("      - name: hourly", "      - name: weekly\n        cron: \"0 6 * * mon\"\n      - name: hourly")
               .replace("      - name: nightly\n        cron: \"0 2 * * *\"\n", ""))
    path = str(write_manifest(changed))
    text, as_json = cli("diff", "-f", path), cli("diff", "-f", path, "-o", "json")
    assert text.code == as_json.code == 1
    assert text.out == snapshot(name="text")
    volatile = ("lineage", "basis", "inputs")   # a new state's UUID, its digest, the test's temp paths
    assert {k: v for k, v in json.loads(as_json.out).items() if k not in volatile} == snapshot(name="json")
