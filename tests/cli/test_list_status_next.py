"""`list`, `status` and `next` from the CLI."""
from __future__ import annotations

import json

import yaml

MANIFEST = """
    apiVersion: sbsched/v1
    kind: ScheduleSet
    metadata: {name: production}
    schedules:
      - name: nightly
        cron: "0 2 * * *"
        timezone: America/New_York
        labels: {team: payments, tier: gold}
      - name: incident
        cron: "@hourly"
        suspend: true
        labels: {team: platform}
"""


def test_list_table_shows_schedules_with_next_run_and_suspension(cli, write_manifest):
    cli("apply", "-f", str(write_manifest(MANIFEST)))
    result = cli("list", "--show-disabled")
    assert result.code == 0
    header, incident, nightly = result.out.splitlines()
    assert header.split() == ["NAME", "SET", "CRON", "TIMEZONE", "SUSPENDED", "NEXT-RUN", "LAST-RUN", "LAST-RESULT"]
    assert incident.split() == ["incident", "production", "@hourly", "UTC", "true", "<none>", "<none>", "<none>"]
    fields = nightly.split()
    assert fields[:2] == ["nightly", "production"] and fields[7:9] == ["America/New_York", "false"]
    assert fields[9][11:19] == "02:00:00" and fields[9][19:] in ("-05:00", "-04:00")


def test_list_json_and_yaml_are_one_document_of_items(cli, write_manifest):
    cli("apply", "-f", str(write_manifest(MANIFEST)))
    as_json = json.loads(cli("list", "-o", "json", "--show-disabled").out)
    as_yaml = yaml.safe_load(cli("list", "-o", "yaml", "--show-disabled").out)
    assert as_json == as_yaml
    assert [i["name"] for i in as_json["items"]] == ["incident", "nightly"]
    nightly = as_json["items"][1]
    assert {"name", "set", "spec", "status"} <= set(nightly)
    assert nightly["spec"]["policy"]["concurrency"] == "Forbid"  # normalized: schema defaults filled
    assert nightly["status"]["consecutiveFailures"] == 0 and nightly["status"]["active"] == []


def test_list_filters_by_label_selector(cli, write_manifest):
    cli("apply", "-f", str(write_manifest(MANIFEST)))

    def names(*selector: str) -> list[str]:
        return [i["name"] for i in json.loads(cli("list", "-o", "json", "--show-disabled", *selector).out)["items"]]

    assert names("-l", "team=payments") == ["nightly"]
    assert names("-l", "team!=payments") == ["incident"]
    assert names("-l", "tier") == ["nightly"]
    assert names("-l", "team=platform,tier") == []
    assert names("-l", "team", "-l", "tier=gold") == ["nightly"]
    bad = cli("list", "-l", "=x")
    assert bad.code == 2 and "invalid label selector" in bad.err


def test_list_on_an_empty_state_says_so(cli):
    result = cli("list")
    assert (result.code, result.out, result.err) == (0, "", "No schedules found.\n")
    assert json.loads(cli("list", "-o", "json").out) == {"items": []}


def test_status_shows_spec_status_and_next_run(cli, write_manifest):
    cli("apply", "-f", str(write_manifest(MANIFEST)))
    text = cli("status", "nightly")
    assert text.code == 0
    assert "Cron:                 0 2 * * * (America/New_York)" in text.out
    assert "Next run:             20" in text.out and "Recent runs:\n  <none>" in text.out
    doc = json.loads(cli("status", "nightly", "-o", "json").out)
    assert doc["name"] == "nightly" and doc["spec"]["labels"] == {"team": "payments", "tier": "gold"}
    assert doc["status"]["nextRunTime"][11:19] == "02:00:00" and doc["recentRuns"] == []


def test_status_of_an_unknown_schedule_is_exit_2_with_a_suggestion(cli, write_manifest):
    cli("apply", "-f", str(write_manifest(MANIFEST)))
    result = cli("status", "nightlyy")
    assert result.code == 2
    assert result.err == "sbsched: error: no schedule named 'nightlyy'\nhint: did you mean 'nightly'?\n"


def test_next_for_a_named_schedule_uses_its_zone(cli, write_manifest):
    cli("apply", "-f", str(write_manifest(MANIFEST)))
    result = cli("next", "nightly", "--after", "2026-03-07T12:00:00Z", "-n", "3")
    assert result.out.splitlines() == ["2026-03-08T03:00:00-04:00", "2026-03-09T02:00:00-04:00",
                                       "2026-03-10T02:00:00-04:00"]


def test_next_for_a_cron_expression(cli):
    result = cli("next", "--cron", "0 0 1,15 * 5", "--timezone", "UTC", "--after", "2026-05-01T00:00:00+00:00", "-n", "4")
    assert result.code == 0
    assert result.out.splitlines() == ["2026-05-08T00:00:00+00:00", "2026-05-15T00:00:00+00:00",
                                       "2026-05-22T00:00:00+00:00", "2026-05-29T00:00:00+00:00"]


def test_next_with_a_naive_after_reads_it_in_the_zone(cli):
    result = cli("next", "--cron", "30 1 * * *", "--timezone", "Europe/Berlin", "--after", "2026-10-25T00:00", "-n", "2")
    assert result.out.splitlines() == ["2026-10-25T01:30:00+02:00", "2026-10-26T01:30:00+01:00"]


def test_next_rejects_bad_input_with_exit_2(cli):
    cases = {
        ("next",): "give either a schedule NAME or --cron EXPR",
        ("next", "--cron", "61 * * * *"): "invalid cron '61 * * * *'",
        ("next", "--cron", "@daily", "--timezone", "Nowhere/Land"): "unknown time zone 'Nowhere/Land'",
        ("next", "--cron", "@daily", "--after", "yesterday"): "--after 'yesterday' is not an ISO 8601 time",
        ("next", "missing"): "no schedule named 'missing'",
    }
    for args, message in cases.items():
        result = cli(*args)
        assert result.code == 2 and message in result.err, (args, result)


def test_next_past_the_last_representable_year_is_an_error_not_a_crash(cli):
    result = cli("next", "--cron", "0 0 29 2 1", "--after", "9999-01-01T00:00:00+00:00")
    assert result.code == 2 and "no fire time before year 10000" in result.err



def test_a_schedule_the_host_cannot_time_is_named_by_list_status_and_reconcile_and_never_breaks_them(
        write_manifest, state_dir):
    """An unknown zone (an older tzdata) in state.json: every command keeps working (they exited 2 with an
    internal error); the schedule is named as not scheduled, the others run."""
    from datetime import datetime, timezone

    from reconciler.store.state import StateStore

    from ..conftest import run_sbsched

    manifest = write_manifest("""
        apiVersion: sbsched/v1
        kind: ScheduleSet
        metadata: {name: r}
        defaults: {collect: {cluster: false, hostCollectors: [{cpu: {}}]}}
        schedules:
          - {name: good, cron: "0 3 * * *"}
          - {name: mars, cron: "0 3 * * *"}
    """)
    assert run_sbsched("apply", "-f", str(manifest)).code == 0
    store = StateStore(state_dir)
    with store.locked(timeout=5, command="test", now=datetime.now(timezone.utc)):
        state = store.read()
        state["schedules"]["mars"]["spec"]["timezone"] = "Mars/Olympus"
        state["serial"] += 1
        store.write(state)
    listed = run_sbsched("list")
    assert listed.code == 0 and "schedule 'mars' is not scheduled: unknown time zone 'Mars/Olympus'" in listed.err
    assert {line.split()[0]: line.split()[-3] == "error" for line in listed.out.splitlines()[1:]} == \
        {"good": False, "mars": True}
    as_json = json.loads(run_sbsched("list", "-o", "json").out)["items"]
    assert {i["name"]: "scheduleError" in i["status"] for i in as_json} == {"good": False, "mars": True}
    shown = run_sbsched("status", "mars")
    assert shown.code == 0 and "Not scheduled:" in shown.out and "Mars/Olympus" in shown.out
    ran = run_sbsched("run", "mars")
    assert ran.code == 0, ran.err
    once = run_sbsched("reconcile", "--once")
    assert once.code == 0 and "mars: not scheduled" in once.err and "internal error" not in once.err


def test_list_leaves_disabled_schedules_out_unless_show_disabled_as_troubleshoot_does(cli, write_manifest):
    cli("apply", "-f", str(write_manifest(MANIFEST)))
    cli("suspend", "nightly")
    result = cli("list")
    assert (result.out, result.err) == ("", "No schedules found.\n2 disabled or suspended schedule(s) not shown: "
                                            "--show-disabled lists them\n")
    assert json.loads(cli("list", "-o", "json").out) == {"items": []}
    cli("resume", "nightly")
    assert [i["name"] for i in json.loads(cli("list", "-o", "json").out)["items"]] == ["nightly"]


def test_list_filters_by_name_pattern_and_run_status_and_wide_adds_run_count_and_description(
        cli, write_manifest, state_dir):
    cli("apply", "-f", str(write_manifest(MANIFEST.replace("      - name: incident\n",
                                                           "      - name: nightly-eu\n        cron: '0 3 * * *'\n"
                                                           "        description: EU copy, for the auditors\n"
                                                           "      - name: incident\n"))))
    state = json.loads((state_dir / "state.json").read_text())
    state["schedules"]["nightly"]["status"].update(lastResult="failed", runCount=3)
    (state_dir / "state.json").write_text(json.dumps(state))

    def names(*args: str) -> list[str]:
        return [i["name"] for i in json.loads(cli("list", "-o", "json", *args).out)["items"]]

    assert names("-f", "nightly*") == ["nightly", "nightly-eu"]
    assert names("--filter", "*-eu") == ["nightly-eu"]
    assert names("--status", "failed") == ["nightly"] and names("--status", "pending") == ["nightly-eu"]
    assert names("--status", "running") == [] and names("--status", "completed") == []
    assert cli("list", "--status", "done").code == 2
    header, *rows = cli("list", "-o", "wide").out.splitlines()
    assert header.split()[-3:] == ["STATUS", "RUN-COUNT", "DESCRIPTION"]
    assert rows[0].split()[-2:] == ["failed", "3"]
    assert rows[1].endswith("pending   0           EU copy, for the auditors")
    shown = cli("status", "nightly-eu").out
    assert "Description:          EU copy, for the auditors\n" in shown and "Run count:            0\n" in shown
