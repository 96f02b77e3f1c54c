"""`sbsched validate`: every problem at once, placed at FILE:LINE:COL with its JSON path."""
from __future__ import annotations

import json

import pytest

VALID = """
    apiVersion: sbsched/v1
    kind: ScheduleSet
    metadata:
      name: production
    schedules:
      - name: nightly
        cron: "0 2 * * *"
        timezone: America/New_York
        collect:
          specs: [specs/support-bundle.yaml, specs/host-cpu.yaml]
        redact:
          redactors: [specs/redactor.yaml, specs/redactor-in-configmap.yaml]
"""

# One manifest with one of each error the issue lists; line numbers below refer to it.
BROKEN = """
    apiVersion: sbsched/v1
    kind: ScheduleSet
    metadata:
      name: production
    schedules:
      - name: nightly
        cron: "61 * * * *"
        timezon: UTC
      - name: Bad_Name
        cron: "* * *"
        timezone: Mars/Olympus
      - name: feb
        cron: "0 0 31 2 *"
        policy:
          timeoutSeconds: "30s"
          concurrency: forbid
      - name: nightly
        cron: "CRON_TZ=UTC 0 2 * * *"
      - name: specs
        cron: "@daily"
        collect:
          specs: [specs/missing.yaml, schedules.yaml]
"""


@pytest.fixture
def in_repo(write_manifest, monkeypatch):
    def go(text: str) -> str:
        path = write_manifest(text)
        monkeypatch.chdir(path.parent)
        return path.name

    return go


def test_a_valid_manifest_exits_0_and_says_so(cli, in_repo):
    result = cli("validate", "-f", in_repo(VALID))
    assert (result.code, result.out) == (0, "schedules.yaml: valid (set 'production', 1 schedules)\n")


def test_every_error_is_reported_at_once_with_file_line_column_and_path(cli, in_repo, snapshot):
    result = cli("validate", "-f", in_repo(BROKEN))
    assert result.code == 1
    lines = result.err.splitlines()
    expected = [
        "schedules.yaml:7:11: schedules[0].cron: invalid cron '61 * * * *': ",
        "schedules.yaml:8:5: schedules[0].timezon: unknown key 'timezon' (did you mean 'timezone'?)",
        "schedules.yaml:9:11: schedules[1].name: 'Bad_Name' must be lowercase letters",
        "schedules.yaml:10:11: schedules[1].cron: invalid cron '* * *': ",
        "schedules.yaml:11:15: schedules[1].timezone: unknown time zone 'Mars/Olympus'",
        "schedules.yaml:13:11: schedules[2].cron: invalid cron '0 0 31 2 *': ",
        "schedules.yaml:15:23: schedules[2].policy.timeoutSeconds: expected an integer, got '30s'",
        "schedules.yaml:16:20: schedules[2].policy.concurrency: expected one of Forbid, Allow, Replace; got 'forbid'"
        " (did you mean 'Forbid'?)",
        "schedules.yaml:17:11: schedules[3].name: duplicate schedule name 'nightly' (first at schedules[0])",
        "schedules.yaml:18:11: schedules[3].cron: invalid cron 'CRON_TZ=UTC 0 2 * * *': ",
        "schedules.yaml:22:15: schedules[4].collect.specs[0]: file not found: specs/missing.yaml",
        "schedules.yaml:22:35: schedules[4].collect.specs[1]: schedules.yaml is not a troubleshoot spec",
    ]
    for want in expected:
        assert any(line.startswith(want) for line in lines), f"missing {want!r} in:\n{result.err}"
    assert "never fires" in lines[5] and "timezone" in lines[9].lower()
    assert lines[-1] == "schedules.yaml: 12 error(s)"
    assert result.err == snapshot


def test_json_output_lists_the_same_diagnostics(cli, in_repo):
    result = cli("validate", "-f", in_repo(BROKEN), "-o", "json")
    assert result.code == 1
    doc = json.loads(result.out)
    assert doc["valid"] is False and doc["errorCount"] == 12 == len(doc["diagnostics"])
    first = doc["diagnostics"][0]
    assert set(first) == {"severity", "path", "line", "column", "message"}
    assert (first["severity"], first["path"], first["line"], first["column"]) == ("error", "schedules[0].cron", 7, 11)


@pytest.mark.parametrize(("text", "where", "message"), [
    ("", "1:1", "empty manifest"),
    ("# only a comment\n", "1:1", "empty manifest"),
    ("- a\n- b\n", "1:1", "must be a mapping"),
    ("just a string\n", "1:1", "must be a mapping"),
    ("apiVersion: sbsched/v1\nkind: [oops\n", "3:1", "YAML syntax error"),
    ("apiVersion: sbsched/v1\n  kind: x\n", "2:7", "YAML syntax error"),
    ("apiVersion: sbsched/v2\nkind: CronJob\nmetadata: {name: p}\nschedules: []\n", "1:13", "expected 'sbsched/v1'"),
    ("apiVersion: sbsched/v1\nkind: CronJob\nmetadata: {name: p}\nschedules: []\n", "2:7", "expected 'ScheduleSet'"),
    ("apiVersion: sbsched/v1\nkind: ScheduleSet\nmetadata: {name: p}\n", "1:1", "missing required key 'schedules'"),
    ("apiVersion: sbsched/v1\nkind: ScheduleSet\nmetadata: {name: p}\nschedules: []\nschedules: []\n", "5:1",
     "duplicate key 'schedules'"),
    ("apiVersion: sbsched/v1\nkind: ScheduleSet\nmetadata: {name: p}\nschedules:\n- {name: a, cron: '@reboot'}\n",
     "5:19", "invalid cron '@reboot'"),
    ("apiVersion: sbsched/v1\nkind: ScheduleSet\nmetadata: {name: p}\nschedules:\n- {name: " + "a" * 53
     + ", cron: '@daily'}\n", "5:10", "at most 52 characters"),
    ("apiVersion: sbsched/v1\nkind: ScheduleSet\nmetadata: {name: p}\nschedules:\n- {name: a, cron: '@daily',"
     " upload: {url: 's3://b/', credentials: {secretAccessKey: hunter2}}}\n", "5:85", "must be a secret reference"),
    ("apiVersion: sbsched/v1\nkind: ScheduleSet\nmetadata: {name: p}\nschedules:\n- {name: a, cron: '@daily',"
     " upload: {options: {region: x}}}\n", "5:37", "upload.url is required"),
])
def test_invalid_manifests_exit_1_with_one_placed_line_each(cli, in_repo, text, where, message):
    result = cli("validate", "-f", in_repo(text))
    assert result.code == 1, result
    first = result.err.splitlines()[0]
    assert first.startswith(f"schedules.yaml:{where}: "), first
    assert message in first


@pytest.mark.parametrize("make", ["missing", "directory", "not-utf8"])
def test_an_unreadable_file_is_an_error_exit_2(cli, tmp_path, make):
    path = tmp_path / "m.yaml"
    if make == "directory":
        path.mkdir()
    elif make == "not-utf8":
        path.write_bytes(b"apiVersion: \xff\xfe\n")
    result = cli("validate", "-f", str(path))
    assert result.code == 2
    assert result.err.startswith("sbsched: error: ") and len(result.err.splitlines()) == 1
    assert "Traceback" not in result.err


def test_defaults_are_checked_and_problems_placed_in_defaults(cli, in_repo):
    text = """
        apiVersion: sbsched/v1
        kind: ScheduleSet
        metadata: {name: p}
        defaults:
          collect: {specs: [specs/nope.yaml]}
          policy: {retries: -1}
        schedules:
          - {name: a, cron: "@daily"}
    """
    result = cli("validate", "-f", in_repo(text))
    assert result.code == 1
    assert result.err.splitlines() == [
        "schedules.yaml:5:21: defaults.collect.specs[0]: file not found: specs/nope.yaml",
        "schedules.yaml:6:21: defaults.policy.retries: must be >= 0, got -1",
        "schedules.yaml: 2 error(s)",
    ]


def test_yaml_1_1_booleans_stay_strings_so_notify_on_works(cli, in_repo):
    text = """
        apiVersion: sbsched/v1
        kind: ScheduleSet
        metadata: {name: p}
        schedules:
          - name: a
            cron: "@daily"
            notify: [{webhook: "http://127.0.0.1:9/hook", on: [failure, recovered]}]
    """
    assert cli("validate", "-f", in_repo(text)).code == 0


def test_a_null_schedule_list_is_an_empty_set(cli, in_repo):
    result = cli("validate", "-f", in_repo("apiVersion: sbsched/v1\nkind: ScheduleSet\nmetadata: {name: p}\nschedules:\n"))
    assert (result.code, result.out) == (0, "schedules.yaml: valid (set 'p', 0 schedules)\n")


def test_a_bad_when_in_a_spec_is_a_validation_error_placed_in_the_spec_file(cli, write_manifest, tmp_path):
    spec = tmp_path / "repo" / "specs" / "bad-when.yaml"
    spec.parent.mkdir(parents=True, exist_ok=True)
    spec.write_text("apiVersion: troubleshoot.sh/v1beta2\nkind: SupportBundle\nmetadata: {name: x}\nspec:\n"
                    "  analyzers:\n    - clusterVersion:\n        outcomes:\n          - fail:\n"
                    "              when: \"<< 1.2.x\"\n              message: too old\n")
    path = write_manifest("""
        apiVersion: sbsched/v1
        kind: ScheduleSet
        metadata: {name: w}
        schedules:
          - name: a
            cron: "@daily"
            collect: {specs: [specs/bad-when.yaml]}
    """)
    result = cli("validate", "-f", str(path))
    assert result.code == 1
    assert "schedules[0].collect.specs[0]: bad analyzer outcome: " in result.err
    assert "bad-when.yaml:9:21: analyzers[0].clusterVersion.outcomes[0].fail.when: " in result.err


def test_a_bad_redactor_field_is_a_validation_error_placed_in_the_spec_file(cli, write_manifest, tmp_path):
    """A non-string fileSelector.file and a glob that is no regex reached the run (make stress, fuzz)."""
    spec = tmp_path / "repo" / "specs" / "bad-redactor.yaml"
    spec.parent.mkdir(parents=True, exist_ok=True)
    spec.write_text("apiVersion: troubleshoot.sh/v1beta2\nkind: Redactor\nmetadata: {name: r}\nspec:\n  redactors:\n"
                    "    - fileSelector: {file: [e-1]}\n    - fileSelector: {files: ['logs/[e-1].log']}\n")
    path = write_manifest("""
        apiVersion: sbsched/v1
        kind: ScheduleSet
        metadata: {name: w}
        schedules:
          - name: a
            cron: "@daily"
            redact: {redactors: [specs/bad-redactor.yaml]}
    """)
    result = cli("validate", "-f", str(path))
    assert result.code == 1
    lines = result.err.splitlines()
    assert [line.split(": bad Redactor spec: ")[1].split("specs/", 1)[1] for line in lines[:-1]] == [
        "bad-redactor.yaml:6:28: spec.redactors[0].fileSelector.file: must be a string, got a list",
        "bad-redactor.yaml:7:30: spec.redactors[1].fileSelector.files[0]: invalid file glob 'logs/[e-1].log': "
        "bad character range e-1"]
    assert "schedules.yaml:7:26: schedules[0].redact.redactors[0]: bad Redactor spec: " in lines[0]
