"""Debian's real Prometheus scrapes a real `sbsched daemon --metrics-addr 127.0.0.1:0` and evaluates the
shipped alert rules; every dashboard query is asked of it, and promtool lints the daemon's page.

One Prometheus and one daemon serve the whole module. Prometheus (on 127.0.0.1, a temporary storage
dir, a 1 s scrape and evaluation interval) scrapes the daemon while nothing has run yet; then the
schedules' creation is moved two years back in state.json (see test_daemon_metrics_process) and a
reload starts each one's latest missed slot as a catch-up run: `good` completes, `broken` fails on its
upload, `big` fails on its size limit. `mars` has a zone no host has, so the daemon skips it."""
from __future__ import annotations

import json
import os
import re
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Iterator

import pytest

from ..conftest import run_sbsched, wait_until
from ..delivery_fixtures import _start, _stop
from ..prometheus_tools import PROMETHEUS, ROOT, needs_prometheus, promtool
from .test_daemon_metrics_process import NO_PROXY, edit_state, history, one

pytestmark = needs_prometheus

JOB = "troubleshoot-scheduler"
P = "troubleshoot_scheduler"
DASHBOARD = ROOT / "examples" / "grafana" / "sbsched-dashboard.json"
# What Grafana puts in for its variables, as a dashboard with every instance and schedule selected would.
GRAFANA_VARIABLES = {"$__rate_interval": "5m", "$job": JOB, "$instance": ".*", "$schedule": ".*"}


@dataclass
class Scraped:
    prometheus: str      # http://127.0.0.1:PORT
    daemon: str          # HOST:PORT of the daemon's /metrics
    runs: list[dict[str, Any]]

    def api(self, path: str, **params: str) -> Any:
        url = f"{self.prometheus}/api/v1/{path}?{urllib.parse.urlencode(params)}"
        with NO_PROXY.open(url, timeout=10) as response:
            answer = json.loads(response.read())
        assert answer["status"] == "success", answer
        return answer["data"]

    def query(self, expr: str) -> list[dict[str, Any]]:
        return self.api("query", query=expr)["result"]  # type: ignore[no-any-return]

    def value(self, expr: str) -> float | None:
        found = self.query(expr)
        return float(found[0]["value"][1]) if len(found) == 1 else None

    def firing(self) -> set[tuple[str, str]]:
        return {(a["labels"]["alertname"], a["labels"].get("schedule", a["labels"]["instance"]))
                for a in self.api("alerts")["alerts"] if a["state"] == "firing"}


@pytest.fixture(scope="module")
def scraped(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Scraped]:
    work = tmp_path_factory.mktemp("scraped")
    state_dir = work / "state"
    (work / "home").mkdir()
    env = {**os.environ, "TROUBLESHOOT_SCHEDULER_DIR": str(state_dir), "HOME": str(work / "home")}
    not_a_dir = work / "a-file"
    not_a_dir.write_text("an upload cannot make a directory under a file\n")
    manifest = work / "schedules.yaml"
    manifest.write_text(f"""\
apiVersion: sbsched/v1
kind: ScheduleSet
metadata: {{name: ops}}
defaults:
  collect: {{cluster: false, hostCollectors: [{{cpu: {{}}}}]}}
  policy: {{retries: 0}}
schedules:
  - {{name: good, cron: "0 0 1 1 *"}}
  - {{name: broken, cron: "0 0 1 1 *", upload: {{url: "file://{not_a_dir}/bundles/"}}}}
  - {{name: big, cron: "0 0 1 1 *", limits: {{maxBundleSizeBytes: 1}}}}
  - {{name: mars, cron: "0 0 1 1 *"}}
""")
    assert run_sbsched("apply", "-f", str(manifest), env=env).code == 0
    edit_state(state_dir, lambda name, record: name == "mars" and record["spec"].update(timezone="Mars/Olympus"))
    started = run_sbsched("daemon", "start", "--metrics-addr", "127.0.0.1:0", env=env)
    assert started.code == 0, started.err
    daemon = json.loads((state_dir / "daemon.pid").read_text())["metrics"]
    try:
        prometheus = _start("prometheus", lambda port: prometheus_argv(work, port, daemon), "/-/ready", work)
        try:
            yield drive(Scraped(prometheus.url, daemon, []), state_dir, env)
        finally:
            _stop("prometheus")
    finally:
        assert run_sbsched("daemon", "stop", "--grace", "5", env=env).code == 0


def prometheus_argv(work: Path, port: int, daemon: str) -> list[str]:
    config = work / "prometheus.yml"
    config.write_text(json.dumps({
        "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
        "rule_files": [str(ROOT / "examples" / "prometheus" / "alerts.yaml")],
        "scrape_configs": [{"job_name": JOB, "static_configs": [{"targets": [daemon]}]}],
    }))
    assert PROMETHEUS is not None
    return [PROMETHEUS, f"--config.file={config}", f"--storage.tsdb.path={work / 'tsdb'}",
            f"--web.listen-address=127.0.0.1:{port}", "--log.level=warn"]


def ready(prometheus: str) -> bool:
    """/-/ready answers 503 until Prometheus has loaded its storage (any answer means the port is up)."""
    try:
        with NO_PROXY.open(f"{prometheus}/-/ready", timeout=5) as response:
            return response.status == 200
    except urllib.error.HTTPError:
        return False


def drive(scraped: Scraped, state_dir: Path, env: dict[str, str]) -> Scraped:
    """Runs start only once Prometheus has scraped the daemon, as in production: what a counter was
    before a run matters to increase(), and so to the alerts."""
    wait_until(lambda: ready(scraped.prometheus), timeout=60, what="Prometheus to be ready")
    wait_until(lambda: scraped.value(f'{P}_jobs{{job="{JOB}"}}') == 4, timeout=60, what="Prometheus' first scrape")
    long_ago = (datetime.now(timezone.utc) - timedelta(days=800)).isoformat(timespec="seconds")
    edit_state(state_dir, lambda name, record: record["metadata"].update(createdTime=long_ago))
    assert run_sbsched("daemon", "reload", env=env).code == 0
    wait_until(lambda: (runs := history(env)) and one(runs, "good", "completed") and one(runs, "broken", "failed")
               and one(runs, "big", "failed"), timeout=60, what="the catch-up runs")
    scraped.runs = history(env)
    wait_until(lambda: scraped.value(f'sum({P}_executions_total{{job="{JOB}"}})') == 3
               and scraped.value(f'{P}_jobs_active') == 0, timeout=30, what="Prometheus to scrape the ended runs")
    return scraped


def grafana(expr: str) -> str:
    """The query Grafana sends: it interpolates its variables first."""
    for variable, value in GRAFANA_VARIABLES.items():
        expr = expr.replace(variable, value)
    assert "$" not in expr, expr
    return expr


def test_prometheus_reads_back_each_run_with_the_labels_the_docs_promise(scraped):
    instance = {"job": JOB, "instance": scraped.daemon}

    def series(expr: str) -> dict[frozenset, float]:
        return {frozenset(s["metric"].items()): float(s["value"][1]) for s in scraped.query(expr)}

    def labelled(name: str, **labels: str) -> frozenset:
        return frozenset({"__name__": f"{P}_{name}", **instance, **labels}.items())

    ended = series(f"{P}_executions_total > 0")
    assert ended == {labelled("executions_total", schedule="good", status="completed"): 1,
                     labelled("executions_total", schedule="broken", status="failed"): 1,
                     labelled("executions_total", schedule="big", status="failed"): 1}
    assert series(f"{P}_jobs") == {labelled("jobs"): 4}
    assert series(f"{P}_jobs_total") == {labelled("jobs_total"): 4}, "the PRD's name, untyped, reads the same"
    assert series(f"{P}_schedule_invalid") == {labelled("schedule_invalid", schedule="mars"): 1}
    assert series(f"{P}_resource_limit_hits_total > 0") == \
        {labelled("resource_limit_hits_total", schedule="big", reason="bundle-too-large"): 1}
    assert series(f"{P}_upload_failures_total") == {labelled("upload_failures_total"): 1}
    good = one(scraped.runs, "good", "completed")
    assert series(f"{P}_last_success_timestamp_seconds") == \
        {labelled("last_success_timestamp_seconds", schedule="good"): datetime.fromisoformat(good["endTime"]).timestamp()}
    next_year = datetime(datetime.now(timezone.utc).year + 1, 1, 1, tzinfo=timezone.utc).timestamp()
    assert series(f"{P}_next_run_timestamp_seconds") == {
        labelled("next_run_timestamp_seconds", schedule=name): next_year for name in ("good", "broken", "big")}
    intervals = series(f"{P}_schedule_interval_seconds")
    assert set(intervals) == {labelled("schedule_interval_seconds", schedule=n) for n in ("good", "broken", "big")}
    assert set(intervals.values()) <= {365 * 86400.0, 366 * 86400.0}
    ran = [r for r in scraped.runs if r["status"] in ("completed", "failed")]
    assert scraped.value(f"{P}_execution_duration_seconds_count") == len(ran) == 3
    assert scraped.value(f"{P}_bundle_size_bytes_sum") == sum(r["bundle"]["sizeBytes"] for r in ran)
    assert scraped.value(f"{P}_schedule_lateness_seconds_count") == 3


def test_the_shipped_alerts_fire_for_the_failed_runs_the_upload_the_limit_the_lateness_and_the_skipped_schedule(
        scraped):
    expected = {("SchedulerJobsFailing", "broken"), ("SchedulerJobsFailing", "big"),
                ("SchedulerUploadFailing", scraped.daemon), ("SchedulerResourceLimitHit", "big"),
                ("SchedulerRunsLate", scraped.daemon),   # catch-up runs after "two years down"
                ("SchedulerScheduleInvalid", "mars")}
    wait_until(lambda: scraped.firing() >= expected, timeout=30, what=f"the alerts {sorted(expected)}")
    assert scraped.firing() == expected, "the daemon is up and good succeeded: nothing else fires"
    rules = [rule for group in scraped.api("rules")["groups"] for rule in group["rules"]]
    assert len(rules) == 7 and all(rule["health"] == "ok" for rule in rules), rules


def test_every_dashboard_query_answers_with_series_from_the_scraped_daemon(scraped):
    dashboard = json.loads(DASHBOARD.read_text())
    targets = [(panel["title"], target["expr"]) for panel in dashboard["panels"] for target in panel.get("targets", [])]
    assert len(targets) >= 14
    for title, expr in targets:
        assert scraped.query(grafana(expr)), f"{title}: {expr} returned no series"
    for variable in dashboard["templating"]["list"]:
        label, selector = re.fullmatch(r"label_values\((.+), (\w+)\)", variable["query"]["query"]).group(2, 1)
        values = scraped.api(f"label/{label}/values", **{"match[]": grafana(selector)})
        assert values, f"variable {variable['name']}: {variable['query']['query']} has no values"


def test_the_daemons_metrics_page_passes_promtool_check_metrics(scraped):
    with NO_PROXY.open(f"http://{scraped.daemon}/metrics", timeout=10) as response:
        page = response.read().decode()
    checked = promtool("check", "metrics", stdin=page)
    assert checked.returncode == 0, checked.stdout + checked.stderr
