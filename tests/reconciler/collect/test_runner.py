"""The collector runner: concurrency, per-collector and per-run timeouts, skip reasons, error records."""
from __future__ import annotations

import json
import threading
from datetime import datetime, timezone

import pytest

from reconciler.collect import CollectorSpec, Output, Skipped
from reconciler.collect.runner import Registry, go_duration, run_collectors

STARTED = datetime(2026, 11, 23, 12, 0, tzinfo=timezone.utc)


def spec(kind, host=True, **params):
    return CollectorSpec(kind, params, host, "test")


def ok(spec, ctx):
    ctx.output.write_json(f"host-collectors/{spec.name}.json", {"ok": True})


def boom(spec, ctx):
    raise RuntimeError("disk on fire")


def skip(spec, ctx):
    raise Skipped("no systemd here")


def hang(spec, ctx):
    ctx.cancelled.wait(60)  # only the runner's cancel ends this
    raise RuntimeError("cancelled")


REGISTRY = Registry(host={"ok": ok, "boom": boom, "skip": skip, "hang": hang}, cluster={})


def test_outcomes_keep_spec_order_and_failures_do_not_stop_the_run(tmp_path):
    out = Output(tmp_path)
    specs = [spec("ok", collectorName="a"), spec("boom"), spec("skip"), spec("nope"), spec("clusterInfo", host=False),
             spec("ok", collectorName="b", exclude=True)]
    outcomes, timed_out = run_collectors(specs, REGISTRY, out, deadline=float("inf"), cluster=False, started=STARTED)
    assert not timed_out
    assert [(o.spec.name, o.status) for o in outcomes] == [
        ("a", "succeeded"), ("boom", "failed"), ("skip", "skipped"), ("nope", "skipped"), ("clusterInfo", "skipped"),
        ("b", "skipped")]
    assert outcomes[1].reason == "disk on fire"
    assert outcomes[3].reason == "host collector type 'nope' is not supported by sbsched"
    assert "collect.cluster: false" in outcomes[4].reason and "exclude: true" in outcomes[5].reason
    error = json.loads((tmp_path / "collector-errors" / "boom-error.json").read_text())
    assert error == {"collector": "boom", "error": "disk on fire", "status": "failed", "timestamp": "2026-11-23T12:00:00Z"}
    assert (tmp_path / "host-collectors" / "a.json").exists() and not (tmp_path / "host-collectors" / "b.json").exists()


def test_a_collector_past_its_own_timeout_is_abandoned_and_cancelled(tmp_path):
    outcomes, timed_out = run_collectors([spec("hang", timeout="50ms"), spec("ok")], REGISTRY, Output(tmp_path),
                                         deadline=float("inf"), cluster=True, started=STARTED, max_workers=1)
    assert not timed_out
    assert [(o.status, o.reason) for o in outcomes] == [("failed", "timed out after 0.05s"), ("succeeded", None)]


def test_the_run_deadline_stops_everything_still_running_or_queued(tmp_path):
    clock = {"now": 0.0}
    started = threading.Event()

    def slow(spec, ctx):
        started.set()
        ctx.cancelled.wait(60)

    outcomes, timed_out = run_collectors(
        [spec("slow"), spec("ok")], Registry(host={"slow": slow, "ok": ok}, cluster={}), Output(tmp_path), deadline=0.2, cluster=True,
        started=STARTED, max_workers=1, monotonic=lambda: clock["now"] if not started.is_set() else 1.0)
    assert timed_out
    assert [o.status for o in outcomes] == ["failed", "skipped"]
    assert outcomes[1].reason == "not started: the run's timeoutSeconds was reached"


@pytest.mark.parametrize(("text", "seconds"), [("5s", 5), ("500ms", 0.5), ("1m30s", 90), ("2h", 7200), (3, 3),
                                               ("", None), ("5 seconds", None), (None, None)])
def test_go_durations(text, seconds):
    assert go_duration(text) == seconds


def test_output_paths_cannot_escape_the_bundle(tmp_path):
    out = Output(tmp_path)
    for bad in ("../x", "/etc/passwd", "a/../../b", ""):
        with pytest.raises(ValueError):
            out.path(bad)
    out.write_text("a/b/c.txt", "x")
    assert oct((tmp_path / "a" / "b" / "c.txt").stat().st_mode & 0o777) == "0o600"


def test_an_abandoned_collector_can_no_longer_write(tmp_path):
    release, done, wrote = threading.Event(), threading.Event(), []

    def late(spec, ctx):
        release.wait(10)
        try:
            ctx.output.write_text("late.txt", "unredacted")
        except RuntimeError as exc:
            wrote.append(str(exc))
        finally:
            done.set()

    outcomes, _ = run_collectors([spec("late", timeout="50ms")], Registry(host={"late": late}, cluster={}), Output(tmp_path),
                                 deadline=float("inf"), cluster=True, started=STARTED)
    assert outcomes[0].reason == "timed out after 0.05s"
    release.set()
    assert done.wait(10)
    assert "no more output is accepted" in wrote[0] and not (tmp_path / "late.txt").exists()
