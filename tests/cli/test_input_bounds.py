"""Input is bounded and exact (issue 17): names match as a whole, numbers have maximums, a manifest's size
after alias expansion and its labels are capped, each refusal saying which limit was hit."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from reconciler import schemas

HEAD = "apiVersion: sbsched/v1\nkind: ScheduleSet\nmetadata: {name: s}\nschedules:\n"


def _manifest(tmp_path: Path, text: str) -> str:
    path = tmp_path / "m.yaml"
    path.write_text(text, encoding="utf-8")
    return str(path)


def test_a_schedule_name_with_a_trailing_newline_is_refused_and_creates_nothing(cli, tmp_path, state_dir):
    path = _manifest(tmp_path, HEAD + '  - {name: "abc\\n", cron: "0 2 * * *", collect: {cluster: false}}\n')
    checked = cli("validate", "-f", path)
    assert checked.code == 1, checked
    assert "schedules[0].name: 'abc\\n' must be lowercase letters" in checked.err
    applied = cli("apply", "-f", path)
    assert applied.code == 2, applied
    assert not (state_dir / "state.json").exists()
    assert not (state_dir / "bundles").exists()


def test_a_set_name_with_a_trailing_newline_is_refused(cli, tmp_path):
    path = _manifest(tmp_path, 'apiVersion: sbsched/v1\nkind: ScheduleSet\nmetadata: {name: "prod\\n"}\n'
                               'schedules: []\n')
    result = cli("validate", "-f", path)
    assert result.code == 1, result
    assert "metadata.name: 'prod\\n' must be lowercase letters" in result.err


def test_an_upload_url_with_a_trailing_newline_is_refused(cli, tmp_path):
    path = _manifest(tmp_path, HEAD + '  - {name: a, cron: "0 2 * * *", upload: {url: "s3://bucket/p/\\n"}}\n')
    result = cli("validate", "-f", path)
    assert result.code == 1, result
    assert "schedules[0].upload.url" in result.err


def test_export_refuses_a_namespace_with_a_trailing_newline(cli, tmp_path):
    path = _manifest(tmp_path, HEAD + '  - {name: a, cron: "0 2 * * *", collect: {cluster: false}}\n')
    result = cli("export", "kubernetes", "-f", path, "--namespace", "default\n")
    assert result.code == 2, result
    assert "a namespace is a DNS-1123 label" in result.err
    assert "kind: CronJob" not in result.out


def _numeric_fields(node: object, path: str = "") -> list[tuple[str, dict]]:
    """Every integer or number field of the schema, by path."""
    found: list[tuple[str, dict]] = []
    if isinstance(node, dict):
        kind = node.get("type")
        kinds = kind if isinstance(kind, list) else [kind]
        if "integer" in kinds or "number" in kinds:
            found.append((path, node))
        for key, value in node.items():
            found += _numeric_fields(value, f"{path}.{key}" if path else key)
    return found


def test_every_numeric_field_of_the_schema_has_a_documented_maximum():
    fields = _numeric_fields(schemas.load("schedules"))
    assert len(fields) >= 10
    missing = [path for path, node in fields if "maximum" not in node]
    assert not missing, missing
    reference = (Path(__file__).parents[2] / "docs" / "manifest-reference.md").read_text()
    assert "0 to 36,500" in reference   # retention.maxAgeDays, as the generated reference shows the range


@pytest.mark.parametrize(("section", "key", "value"), [
    ("retention", "maxAgeDays", "99999999999"),
    ("retention", "keepLast", "99999999999"),
    ("retention", "keepFailed", "99999999999"),
    ("policy", "timeoutSeconds", "99999999999"),
    ("policy", "startingDeadlineSeconds", "99999999999"),
    ("policy", "retries", "101"),
    ("policy", "backoffSeconds", "1.0e300"),
    ("policy", "jitterSeconds", "99999999999"),
    ("limits", "maxBundleSizeBytes", "99999999999999999999"),
    ("limits", "minFreeDiskBytes", "99999999999999999999"),
])
def test_a_number_over_its_maximum_is_refused_naming_the_maximum(cli, tmp_path, section, key, value):
    path = _manifest(tmp_path, HEAD + f'  - {{name: a, cron: "0 2 * * *", {section}: {{{key}: {value}}}}}\n')
    result = cli("validate", "-f", path)
    assert result.code == 1, result
    assert f"schedules[0].{section}.{key}: must be <= " in result.err


@pytest.mark.parametrize("value", [".nan", ".inf", "-.inf"])
def test_a_number_that_is_not_finite_is_refused(cli, tmp_path, value):
    path = _manifest(tmp_path, HEAD + f'  - {{name: a, cron: "0 2 * * *", policy: {{backoffSeconds: {value}}}}}\n')
    result = cli("validate", "-f", path)
    assert result.code == 1, result
    assert "schedules[0].policy.backoffSeconds" in result.err
    assert "internal error" not in result.err


def test_cleanup_survives_a_state_applied_before_the_maximum_existed(cli, tmp_path, state_dir):
    path = _manifest(tmp_path, HEAD + '  - {name: a, cron: "0 2 * * *", collect: {cluster: false}}\n')
    assert cli("apply", "-f", path).code == 0
    state = json.loads((state_dir / "state.json").read_text())
    state["schedules"]["a"]["spec"]["retention"]["maxAgeDays"] = 99999999999   # as an older sbsched applied it
    (state_dir / "state.json").write_text(json.dumps(state))
    result = cli("cleanup")
    assert result.code == 0, result
    assert "internal error" not in result.err


def test_a_large_label_aliased_by_many_schedules_is_refused_before_it_reaches_the_state(cli, tmp_path, state_dir):
    """1 MB label, 300 schedules: a 1 MB file that expands to 300 MB (it became a 300 MB state.json)."""
    label = "x" * 2**20
    lines = [f'  - {{name: s0, cron: "0 2 * * *", labels: &big {{team: "{label}"}}}}']
    lines += [f'  - {{name: s{i}, cron: "0 2 * * *", labels: *big}}' for i in range(1, 300)]
    path = _manifest(tmp_path, HEAD + "\n".join(lines) + "\n")
    assert Path(path).stat().st_size < 2 * 2**20
    checked = cli("validate", "-f", path)
    assert checked.code == 1, checked
    assert "64 MiB" in checked.err and "alias" in checked.err, checked.err
    applied = cli("apply", "-f", path)
    assert applied.code == 2, applied
    assert not (state_dir / "state.json").exists()


@pytest.mark.parametrize(("labels", "message"), [
    ("{team: " + "v" * 64 + "}", "labels.team: must be at most 63 characters long, got 64"),
    ("{" + "k" * 64 + ": v}", "63"),
    ("{" + "p" * 254 + "/team: v}", "253"),
])
def test_labels_are_capped_at_kubernetes_limits_and_the_limit_is_named(cli, tmp_path, labels, message):
    path = _manifest(tmp_path, HEAD + f'  - {{name: a, cron: "0 2 * * *", labels: {labels}}}\n')
    result = cli("validate", "-f", path)
    assert result.code == 1, result
    assert message in result.err
    assert len(result.err) < 1000   # the value is shown shortened, not pasted whole


def test_labels_at_kubernetes_limits_are_accepted(cli, tmp_path):
    labels = "{" + "p" * 253 + "/" + "k" * 63 + ": " + "v" * 63 + "}"
    path = _manifest(tmp_path, HEAD + f'  - {{name: a, cron: "0 2 * * *", labels: {labels}}}\n')
    result = cli("validate", "-f", path)
    assert result.code == 0, result
