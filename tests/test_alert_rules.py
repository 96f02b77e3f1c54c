"""The shipped Prometheus rules (examples/prometheus/) pass promtool's check and their own unit tests,
which show each alert firing on the series it is about and quiet on its neighbours; every alert has
its runbook section in docs/operations.md."""
from __future__ import annotations

import re

import yaml

from .prometheus_tools import ROOT, needs_promtool, promtool

RULES = ROOT / "examples" / "prometheus" / "alerts.yaml"
OPERATIONS = ROOT / "docs" / "operations.md"


@needs_promtool
def test_the_alert_rules_pass_promtool_check_rules():
    checked = promtool("check", "rules", str(RULES))
    assert checked.returncode == 0 and "SUCCESS: 7 rules found" in checked.stdout, checked.stdout + checked.stderr


@needs_promtool
def test_every_alert_fires_and_stays_quiet_where_its_promtool_unit_tests_say():
    tested = promtool("test", "rules", str(RULES.with_name("alerts_test.yaml")))
    assert tested.returncode == 0, tested.stdout + tested.stderr
    unit_tests = yaml.safe_load(RULES.with_name("alerts_test.yaml").read_text())["tests"]
    fired = {case["alertname"] for test in unit_tests for case in test["alert_rule_test"] if case["exp_alerts"]}
    assert fired == set(alerts()), "every alert has a unit test in which it fires"


def test_the_prds_two_alerts_are_kept_as_the_prd_writes_them():
    rules = alerts()
    assert rules["SchedulerJobsFailing"]["expr"] == \
        'increase(troubleshoot_scheduler_executions_total{status="failed"}[5m]) > 0'
    assert rules["SchedulerDaemonDown"]["expr"] == 'up{job="troubleshoot-scheduler"} == 0'
    assert rules["SchedulerDaemonDown"]["for"] == "2m"
    assert (rules["SchedulerJobsFailing"]["labels"], rules["SchedulerDaemonDown"]["labels"]) == \
        ({"severity": "warning"}, {"severity": "critical"})


def test_every_alert_points_at_its_runbook_section_in_the_operations_guide():
    anchors = {slug(line.lstrip("#").strip()) for line in OPERATIONS.read_text().splitlines() if line.startswith("#")}
    for name, rule in alerts().items():
        assert rule["annotations"]["runbook_url"] == f"docs/operations.md#{name.lower()}"
        assert name.lower() in anchors, f"docs/operations.md has no section {name}"


def alerts() -> dict[str, dict]:
    return {rule["alert"]: rule for group in yaml.safe_load(RULES.read_text())["groups"] for rule in group["rules"]}


def slug(heading: str) -> str:
    """GitHub's anchor for a heading."""
    return re.sub(r"[^\w\- ]", "", heading.lower()).replace(" ", "-")
