"""/healthz and /readyz: what flips them to failing (a stalled loop on a fake clock, an unreadable state
through the fault-injection hook, a held lock), the HTTP endpoint on loopback, and --metrics-addr."""
from __future__ import annotations

import json
import os
import urllib.error
import urllib.request

import pytest

from reconciler.base.errors import UsageError
from reconciler.daemon.health import STALL_AFTER, Health, MetricsServer, base_url, parse_addr, probe
from reconciler.daemon.loop import Daemon
from reconciler.daemon.metrics import Metrics

from ...fakes.clock import FakeClock
from .test_loop import REGISTRY, T0, make

NO_PROXY = urllib.request.build_opener(urllib.request.ProxyHandler({}))


@pytest.fixture
def running(tmp_path):
    """A daemon on a fake clock (opened, one tick done) and the Health that watches it."""
    clock = FakeClock(T0)
    store, _ = make(tmp_path, '- {name: h, cron: "0 * * * *", collect: {hostCollectors: [{ok: {}}]}}\n', clock)
    daemon = Daemon(store, clock, registry=REGISTRY, metrics=Metrics())
    daemon.open()
    daemon.tick()
    yield daemon, Health(daemon.store, clock, lambda: daemon.last_tick, lock_timeout=0.05)
    daemon.close()


def statuses(report: dict) -> dict[str, str]:
    return {name: check["status"] for name, check in report["checks"].items()}


def test_a_ticking_daemon_is_live_and_ready(running):
    _, health = running
    assert health.live()["status"] == "ok" and statuses(health.live()) == {"process": "ok", "loop": "ok"}
    assert health.ready()["status"] == "ok" and statuses(health.ready()) == {"state": "ok", "lock": "ok", "loop": "ok"}
    assert health.live()["checks"]["process"]["pid"] == os.getpid()


def test_a_loop_that_stops_iterating_fails_both_probes_until_it_ticks_again(running):
    daemon, health = running
    daemon.clock.advance(seconds=STALL_AFTER)
    assert health.live()["status"] == "ok"
    daemon.clock.advance(seconds=1)
    live, ready = health.live(), health.ready()
    assert (live["status"], statuses(live)) == ("failing", {"process": "ok", "loop": "failing"})
    assert (ready["status"], statuses(ready)) == ("failing", {"state": "ok", "lock": "ok", "loop": "failing"})
    assert live["checks"]["loop"]["lastIterationAgeSeconds"] == STALL_AFTER + 1
    daemon.tick()
    assert health.live()["status"] == health.ready()["status"] == "ok"


def test_an_unreadable_state_fails_readiness_not_liveness(running):
    _, health = running

    def denied(path):
        raise PermissionError(13, "Permission denied", str(path))

    health.read_state = denied
    ready = health.ready()
    assert (ready["status"], statuses(ready)) == ("failing", {"state": "failing", "lock": "ok", "loop": "ok"})
    assert ready["checks"]["state"]["error"].startswith("Permission denied: ") and "state.json" in \
        ready["checks"]["state"]["error"]
    assert health.live()["status"] == "ok"
    health.read_state = None
    assert health.ready()["status"] == "ok"


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads a chmod 000 file anyway; the read hook covers this")
def test_a_state_dir_made_unreadable_with_chmod_fails_readiness(running):
    daemon, health = running
    daemon.store.root.chmod(0)
    try:
        ready = health.ready()
    finally:
        daemon.store.root.chmod(0o700)
    assert ready["status"] == "failing" and statuses(ready)["state"] == "failing"


def test_a_lock_held_by_someone_else_fails_readiness_naming_the_holder(running):
    daemon, health = running
    with daemon.store.locked(timeout=1, command="sbsched apply -f big.yaml", now=daemon.clock.now()):
        ready = health.ready()
    assert statuses(ready) == {"state": "ok", "lock": "failing", "loop": "ok"}
    assert "sbsched apply -f big.yaml" in ready["checks"]["lock"]["error"]
    assert health.ready()["status"] == "ok"


def test_the_endpoint_serves_metrics_and_both_probes_on_loopback_with_503_when_failing(running):
    daemon, health = running
    assert daemon.metrics is not None
    server = MetricsServer(("127.0.0.1", 0), daemon.metrics, health)
    try:
        assert server.address.startswith("127.0.0.1:") and not server.address.endswith(":0")
        url = base_url(server.address)
        with NO_PROXY.open(f"{url}/metrics", timeout=5) as response:
            text = response.read().decode()
            assert response.headers["Content-Type"].startswith("text/plain")
        assert "troubleshoot_scheduler_jobs_total 1.0" in text
        with NO_PROXY.open(f"{url}/readyz", timeout=5) as response:
            assert response.status == 200 and json.loads(response.read())["status"] == "ok"
        daemon.clock.advance(seconds=STALL_AFTER + 1)
        with pytest.raises(urllib.error.HTTPError) as failing:
            NO_PROXY.open(f"{url}/healthz", timeout=5)
        assert failing.value.code == 503 and json.loads(failing.value.read())["checks"]["loop"]["status"] == "failing"
        assert {name: report["status"] for name, report in probe(server.address).items()} == \
            {"healthz": "failing", "readyz": "failing"}
        with pytest.raises(urllib.error.HTTPError) as missing:
            NO_PROXY.open(f"{url}/nope", timeout=5)
        assert missing.value.code == 404
    finally:
        server.close()
    gone = probe(server.address, timeout=1)
    assert gone["healthz"]["status"] == "failing" and "endpoint" in gone["healthz"]["checks"]


@pytest.mark.parametrize(("text", "expected"), [
    ("127.0.0.1:9090", ("127.0.0.1", 9090)),
    (":9090", ("127.0.0.1", 9090)),
    ("9090", ("127.0.0.1", 9090)),
    ("0.0.0.0:0", ("0.0.0.0", 0)),
    ("[::1]:9090", ("::1", 9090)),
    ("localhost:80", ("localhost", 80)),
])
def test_metrics_addr_is_host_port_and_loopback_unless_a_host_is_named(text, expected):
    assert parse_addr(text) == expected


@pytest.mark.parametrize("text", ["127.0.0.1:", "127.0.0.1:http", "127.0.0.1:70000", "::1:9090", ""])
def test_a_bad_metrics_addr_is_a_usage_error(text):
    with pytest.raises(UsageError):
        parse_addr(text)
