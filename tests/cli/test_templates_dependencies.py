"""Templates and `after:` through the CLI: validate, templates, diff, list, next, create, export."""
from __future__ import annotations

import json

MANIFEST = """
    apiVersion: sbsched/v1
    kind: ScheduleSet
    metadata: {name: production}
    defaults:
      policy: {timeoutSeconds: 600}
    templates:
      deep:
        policy: {timeoutSeconds: 7200, retries: 5}
        labels: {depth: deep}
      light:
        policy: {timeoutSeconds: 60}
    schedules:
      - name: nightly
        template: deep
        cron: "0 2 * * *"
        policy: {retries: 1}
      - name: upload-check
        after: [{schedule: nightly, on: success}]
      - name: on-failure
        template: deep
        after: [{schedule: nightly, on: failure}]
"""


def test_a_manifest_with_templates_and_after_is_valid(cli, write_manifest):
    result = cli("validate", "-f", str(write_manifest(MANIFEST)))
    assert result.code == 0, result.err


def test_an_unknown_template_is_placed_at_file_line_col_with_the_nearest_name(cli, write_manifest):
    path = write_manifest(MANIFEST.replace("template: deep\n        cron", "template: deap\n        cron"))
    result = cli("validate", "-f", str(path))
    assert result.code == 1
    assert f"{path}:14:15: schedules[0].template: unknown template 'deap' (did you mean 'deep'?)" in result.err


def test_validate_rejects_a_cycle_naming_its_path_and_an_unknown_upstream(cli, write_manifest):
    path = write_manifest(MANIFEST.replace("cron: \"0 2 * * *\"", "cron: \"0 2 * * *\"\n"
                                           "        after: [{schedule: upload-check}]")
                          .replace("schedule: nightly, on: failure", "schedule: nightlyy, on: failure"))
    result = cli("validate", "-f", str(path))
    assert result.code == 1
    lines = result.err.splitlines()
    assert any(f"{path}:16:12: schedules[0].after: dependency cycle: nightly -> upload-check -> nightly" in line
               for line in lines), result.out
    assert any("schedules[2].after[0].schedule: unknown schedule 'nightlyy' (did you mean 'nightly'?)" in line
               for line in lines), result.out


def test_templates_lists_each_with_the_schedules_using_it(cli, write_manifest):
    path = write_manifest(MANIFEST)
    text = cli("templates", "-f", str(path))
    assert text.code == 0
    assert [line.split(None, 1) for line in text.out.splitlines()] == [
        ["TEMPLATE", "SCHEDULES"], ["deep", "nightly, on-failure"], ["light", "<none>"]]
    items = json.loads(cli("templates", "-f", str(path), "-o", "json").out)["items"]
    assert items[0] == {"name": "deep", "schedules": ["nightly", "on-failure"],
                        "template": {"policy": {"timeoutSeconds": 7200, "retries": 5}, "labels": {"depth": "deep"}}}
    assert items[1]["schedules"] == []


def test_diff_shows_the_effective_values_a_template_change_makes(cli, write_manifest):
    path = write_manifest(MANIFEST)
    assert cli("apply", "-f", str(path)).code == 0
    write_manifest(MANIFEST.replace("timeoutSeconds: 7200", "timeoutSeconds: 3600"))
    result = cli("diff", "-f", str(path), "-o", "json")
    assert result.code == 1
    changes = {c["name"]: c["fields"] for c in json.loads(result.out)["changes"] if c["action"] == "update"}
    assert changes == {name: [{"path": "policy.timeoutSeconds", "before": 7200, "after": 3600}]
                       for name in ("nightly", "on-failure")}
    text = cli("diff", "-f", str(path)).out
    assert "policy.timeoutSeconds: 7200 -> 3600" in text


def test_diff_of_a_new_dependent_names_its_chain_and_template(cli, write_manifest):
    text = cli("diff", "-f", str(write_manifest(MANIFEST))).out
    assert "+ on-failure: create (after nightly (failure), template deep)" in text
    assert "+ nightly: create (cron '0 2 * * *', UTC, template deep)" in text


def test_list_shows_the_chain_in_the_cron_column(cli, write_manifest):
    cli("apply", "-f", str(write_manifest(MANIFEST)))
    rows = {line.split()[0]: line for line in cli("list").out.splitlines()[1:]}
    assert "after nightly (success)" in rows["upload-check"]
    assert "<none>" in rows["upload-check"]   # no next run of its own


def test_next_of_a_dependent_gives_its_upstreams_fire_times_and_says_so(cli, write_manifest):
    cli("apply", "-f", str(write_manifest(MANIFEST)))
    own = cli("next", "nightly", "--after", "2026-01-01T00:00:00+00:00", "-n", "2")
    result = cli("next", "upload-check", "--after", "2026-01-01T00:00:00+00:00", "-n", "2")
    assert result.code == 0
    assert result.out == own.out == "2026-01-01T02:00:00+00:00\n2026-01-02T02:00:00+00:00\n"
    assert "upload-check runs after nightly (success); the fire times of nightly" in result.err


def test_create_with_a_template_writes_it_and_an_unknown_one_is_refused(cli, write_manifest):
    path = write_manifest(MANIFEST)
    result = cli("create", "weekly", "--cron", "@weekly", "--template", "light", "-f", str(path))
    assert result.code == 0, result.err
    assert "- name: weekly\n    template: light\n    cron: \"@weekly\"" in path.read_text()
    spec = json.loads(cli("templates", "-f", str(path), "-o", "json").out)["items"][1]
    assert spec["schedules"] == ["weekly"]
    refused = cli("create", "monthly", "--cron", "@monthly", "--template", "lite", "-f", str(path))
    assert refused.code == 2
    assert "--template 'lite': no such template" in refused.err and "(did you mean 'light'?)" in refused.err
    assert "monthly" not in path.read_text()


def test_export_kubernetes_and_diff_target_kubernetes_refuse_after_in_one_line(cli, write_manifest):
    path = str(write_manifest(MANIFEST))
    for command in (["export", "kubernetes", "-f", path], ["diff", "-f", path, "--target", "kubernetes"]):
        result = cli(*command)
        assert result.code == 2 and result.out == ""
        assert result.err.splitlines()[0] == ("sbsched: error: cannot export `after:` (on-failure, upload-check): a "
                                              "Kubernetes CronJob cannot start when another schedule's Job ends")


CHAIN = """
    apiVersion: sbsched/v1
    kind: ScheduleSet
    metadata: {name: chain}
    defaults:
      collect: {cluster: false, hostCollectors: [{cpu: {}}]}
      analyze: {enabled: false}
    schedules:
      - {name: a, cron: "0 2 * * *"}
      - {name: b, after: [{schedule: a}]}
      - {name: c, after: [{schedule: b, on: completion}]}
      - {name: on-failure, after: [{schedule: a, on: failure}]}
"""


def test_run_alone_runs_only_the_schedule(cli, write_manifest):
    cli("apply", "-f", str(write_manifest(CHAIN)))
    result = cli("run", "a", "-o", "json")
    assert result.code == 0, result.err
    assert json.loads(result.out)["schedule"] == "a"
    assert [r["schedule"] for r in json.loads(cli("history", "-o", "json").out)["items"]] == ["a"]


def test_run_with_dependents_runs_the_chain_and_records_each_link(cli, write_manifest):
    cli("apply", "-f", str(write_manifest(CHAIN)))
    result = cli("run", "a", "--with-dependents", "-o", "json")
    assert result.code == 0, result.err
    items = json.loads(result.out)["items"]
    assert [(r["schedule"], r["trigger"], r["status"]) for r in items] == [
        ("a", "manual", "completed"), ("b", "dependency", "completed"), ("c", "dependency", "completed")]
    assert items[1]["after"] == {"schedule": "a", "executionId": items[0]["id"], "status": "completed"}
    assert items[2]["id"] == f"c-after-{items[1]['id']}"
    text = cli("history", items[1]["id"]).out
    assert f"After:      {items[0]['id']} (completed)" in text


def test_status_of_a_dependent_shows_its_chain_and_template(cli, write_manifest):
    cli("apply", "-f", str(write_manifest(MANIFEST)))
    result = cli("status", "on-failure")
    assert result.code == 0, result.err
    assert "Runs after:           nightly (failure)" in result.out
    assert "Template:             deep" in result.out
    assert "Cron:" not in result.out
    assert "Cron:                 0 2 * * * (UTC)" in cli("status", "nightly").out


def test_a_spec_file_named_by_a_template_is_checked_and_snapshotted_for_its_schedules(cli, write_manifest, tmp_path):
    text = """
        apiVersion: sbsched/v1
        kind: ScheduleSet
        metadata: {name: files}
        templates:
          host: {collect: {cluster: false, specs: [specs/SPEC]}, analyze: {enabled: false}}
        schedules:
          - {name: a, cron: "@daily", template: host}
    """
    missing = cli("validate", "-f", str(write_manifest(text.replace("SPEC", "nope.yaml"))))
    assert missing.code == 1 and "templates.host.collect.specs[0]" in missing.err
    path = write_manifest(text.replace("SPEC", "host-cpu.yaml"))
    assert cli("apply", "-f", str(path)).code == 0
    spec = json.loads(cli("status", "a", "-o", "json").out)["spec"]
    assert spec["collect"]["specs"] == ["specs/host-cpu.yaml"] and list(spec["specFiles"]) == ["specs/host-cpu.yaml"]
    (path.parent / "specs" / "host-cpu.yaml").write_text("not: a spec")   # runs use the applied snapshot
    result = cli("run", "a", "-o", "json")
    assert result.code == 0, result.err
