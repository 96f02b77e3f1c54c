"""The daemon's loop on a fake clock: slots fire once, policies hold, state changes are picked up,
crashes are recovered, status writes are batched. Runs use test collectors, so no run waits on time."""
from __future__ import annotations

import gc
import json
import os
import threading
import textwrap
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from random import Random

import pytest

from reconciler.collect.runner import Registry
from reconciler.daemon.loop import Daemon
from reconciler.manifest.load import load_manifest
from reconciler.plan.apply import apply
from reconciler.store import executions
from reconciler.store.pidfile import AlreadyRunning, PidFile
from reconciler.store.records import ExecutionRecord
from reconciler.store.state import StateStore
from reconciler.timing import decisions

from ...fakes.clock import FakeClock

T0 = datetime(2026, 6, 1, 12, 0, 30, tzinfo=timezone.utc)
gate = threading.Event()
held = threading.Event()   # a `blocked` collector holds its run (whose running record is written by then)


def ok(spec, ctx):
    ctx.output.write_text("host-collectors/ok.txt", "fine")


def blocked(spec, ctx):
    """Holds its run open until the test opens the gate (or the run is cancelled)."""
    held.set()
    while not gate.is_set() and not ctx.cancelled.is_set():
        gate.wait(0.01)


REGISTRY = Registry(host={"ok": ok, "blocked": blocked}, cluster={})


@pytest.fixture(autouse=True)
def closed_gate():
    gate.clear()
    held.clear()
    yield
    gate.set()


def make(tmp_path: Path, schedules: str, clock: FakeClock) -> tuple[StateStore, Path]:
    path = tmp_path / "schedules.yaml"
    path.write_text("apiVersion: sbsched/v1\nkind: ScheduleSet\nmetadata: {name: d}\n"
                    "defaults: {collect: {cluster: false}}\nschedules:\n" + textwrap.indent(textwrap.dedent(schedules), "  "))
    store = StateStore(tmp_path / "state")
    result = load_manifest(str(path))
    assert result.manifest is not None, result.diagnostics
    apply(store, result.manifest, now=clock.now())
    return store, path


def reapply(store: StateStore, path: Path, text: str, clock: FakeClock) -> None:
    path.write_text(text)
    apply(store, load_manifest(str(path)).manifest, now=clock.now())


def records(store: StateStore) -> list[dict]:
    return sorted(executions.history(store.root), key=lambda r: (r["scheduledTime"], r["id"]))


def daemon(store: StateStore, clock: FakeClock, **kw) -> Daemon:
    d = Daemon(store, clock, registry=REGISTRY, **kw)
    d.open()
    return d


def settle(d: Daemon) -> None:
    d.wait_idle()
    d.batcher.close()
    d.batcher = type(d.batcher)(d.store, d.clock, lock_timeout=5)


def wait_done(d: Daemon, *run_ids: str, timeout: float = 10) -> None:
    """After the tick that started them: wait on each run's own `done` event, which the daemon sets once
    the run is accounted for (a run already gone from `active` is through)."""
    with d.lock:
        runs = [(run_id, d.active.get(run_id)) for run_id in run_ids]
    for run_id, run in runs:
        assert run is None or run.done.wait(timeout), f"{run_id} still running after {timeout} s"


def test_a_due_slot_runs_once_under_its_slot_id_and_status_is_written(tmp_path):
    clock = FakeClock(T0)
    store, _ = make(tmp_path, """
        - {name: hourly, cron: "0 * * * *", collect: {hostCollectors: [{ok: {}}]}}
    """, clock)
    d = daemon(store, clock)
    assert d.tick() == datetime(2026, 6, 1, 13, 0, tzinfo=timezone.utc)
    clock.set(datetime(2026, 6, 1, 13, 0, 0, 50_000, tzinfo=timezone.utc))
    d.tick()
    d.tick()  # the same slot again: nothing new
    settle(d)
    runs = records(store)
    assert [(r["id"], r["trigger"], r["status"]) for r in runs] == [("hourly-20260601T1300Z", "schedule", "completed")]
    assert runs[0]["dispatchTime"] == clock.now().isoformat()
    status = store.read()["schedules"]["hourly"]["status"]
    assert status["lastScheduleTime"] == "2026-06-01T13:00:00+00:00" and status["lastResult"] == "completed"
    assert status["active"] == []
    d.close()


def serve_one_tick(store: StateStore, clock: FakeClock) -> None:
    first = daemon(store, clock)
    first.tick()
    first.wait_idle()
    first.close()


def lose_status_write(store: StateStore, name: str, clock: FakeClock) -> None:
    """As if the daemon was killed before its batched status write: only the run's record says it ran."""
    state = store.read()
    state["schedules"][name]["status"]["lastScheduleTime"] = None
    with store.locked(timeout=1, command="test", now=clock.now()):
        store.write(state)


def test_a_restarted_daemon_never_runs_a_recorded_slot_again(tmp_path):
    clock = FakeClock(T0)
    store, _ = make(tmp_path, '- {name: h, cron: "0 * * * *", collect: {hostCollectors: [{ok: {}}]}}\n', clock)
    clock.set(datetime(2026, 6, 1, 13, 0, 1, tzinfo=timezone.utc))
    serve_one_tick(store, clock)
    lose_status_write(store, "h", clock)
    second = daemon(store, clock)
    second.tick()
    second.wait_idle()
    second.close()
    assert [r["id"] for r in records(store)] == ["h-20260601T1300Z"]


def test_a_slot_recorded_before_the_daemon_opened_never_runs_again_when_its_jittered_time_comes_after(tmp_path):
    """With jitter a slot can fall before the open and its run time after it: the decision that places
    it looks at its record on disk first, so the on-time path that starts it later need not."""
    clock = FakeClock(T0)
    store, _ = make(tmp_path, '- {name: j, cron: "0 * * * *", policy: {jitterSeconds: 3000}, '
                              'collect: {hostCollectors: [{ok: {}}]}}\n', clock)
    run_at = datetime(2026, 6, 1, 13, 0, tzinfo=timezone.utc) + decisions.jitter("j", 3000)
    assert run_at - datetime(2026, 6, 1, 13, 0, tzinfo=timezone.utc) > timedelta(seconds=10)
    clock.set(run_at)
    serve_one_tick(store, clock)
    assert [r["id"] for r in records(store)] == ["j-20260601T1300Z"]
    lose_status_write(store, "j", clock)
    clock.set(datetime(2026, 6, 1, 13, 0, 5, tzinfo=timezone.utc))   # a second daemon, between slot and run time
    second = daemon(store, clock)
    second.tick()
    clock.set(run_at)
    second.tick()
    second.wait_idle()
    second.close()
    assert [r["id"] for r in records(store)] == ["j-20260601T1300Z"]


def test_a_serving_daemon_holds_no_memory_for_runs_long_finished(tmp_path):
    """Left unattended for months, the daemon kept every finished record and every started id: ~25 MB a
    day at 10,000 daily schedules. Ids of slots over a day old are forgotten (a slot that old is looked
    up on disk, its record written before it started), and only `reconcile --once` keeps its records."""
    clock = FakeClock(T0)
    store, _ = make(tmp_path, '- {name: h, cron: "0 */2 * * *", retention: {keepLast: 100}, '
                              'collect: {hostCollectors: [{ok: {}}]}}\n', clock)
    d = daemon(store, clock)
    wake = d.tick()
    for _ in range(48):   # four days
        clock.set(wake)
        wake = d.tick()
        d.wait_idle()
    d.close()
    ran = records(store)
    assert len(ran) == 48 and len({r["id"] for r in ran}) == 48
    assert d.results == [] and 12 <= len(d.started) <= 24, (len(d.results), len(d.started))
    first = datetime.fromisoformat(ran[0]["scheduledTime"])
    assert ran[0]["id"] not in d.started and d._recorded(decisions.Due("h", first, first, "schedule"))
    assert not d._recorded(decisions.Due("h", first - timedelta(hours=2), first, "schedule"))


@pytest.mark.parametrize(("policy", "expected"), [
    ("Forbid", [("c-20260601T1300Z", "completed", None), ("c-20260601T1400Z", "skipped", "concurrency")]),
    ("Allow", [("c-20260601T1300Z", "completed", None), ("c-20260601T1400Z", "completed", None)]),
    ("Replace", [("c-20260601T1300Z", "failed", "replaced by c-20260601T1400Z"), ("c-20260601T1400Z", "completed", None)]),
])
def test_concurrency_policies(tmp_path, policy, expected):
    clock = FakeClock(T0)
    store, _ = make(tmp_path, f"""
        - name: c
          cron: "0 * * * *"
          policy: {{concurrency: {policy}}}
          collect: {{hostCollectors: [{{blocked: {{}}}}]}}
    """, clock)
    d = daemon(store, clock)
    clock.set(datetime(2026, 6, 1, 13, 0, 1, tzinfo=timezone.utc))
    d.tick()
    clock.set(datetime(2026, 6, 1, 14, 0, 1, tzinfo=timezone.utc))
    d.tick()
    gate.set()
    settle(d)
    assert [(r["id"], r["status"], r["reason"]) for r in records(store)] == expected
    d.close()


def test_after_downtime_only_the_latest_slot_runs_as_catch_up(tmp_path):
    clock = FakeClock(T0)
    store, _ = make(tmp_path, '- {name: h, cron: "*/10 * * * *", collect: {hostCollectors: [{ok: {}}]}}\n', clock)
    clock.set(T0 + timedelta(hours=5, minutes=3))
    d = daemon(store, clock)
    d.tick()
    settle(d)
    d.close()
    assert [(r["id"], r["trigger"]) for r in records(store)] == [("h-20260601T1700Z", "catch-up")]


def test_an_apply_while_running_is_picked_up_old_slot_dropped_new_one_fired(tmp_path):
    clock = FakeClock(T0)
    text = TWO
    store, path = make(tmp_path, '- {name: a, cron: "0 13 * * *"}\n- {name: gone, cron: "0 13 * * *"}\n', clock)
    path.write_text(text)
    apply(store, load_manifest(str(path)).manifest, now=clock.now())
    d = daemon(store, clock)
    d.tick()
    clock.advance(minutes=10)
    reapply(store, path, text.replace('"0 13 * * *"}\n  - {name: gone, cron: "0 13 * * *"}', '"30 13 * * *"}'), clock)
    clock.set(datetime(2026, 6, 1, 13, 0, 5, tzinfo=timezone.utc))
    d.tick()
    clock.set(datetime(2026, 6, 1, 13, 30, 5, tzinfo=timezone.utc))
    d.tick()
    settle(d)
    d.close()
    assert [r["id"] for r in records(store)] == ["a-20260601T1330Z"]


def test_suspended_schedules_do_not_fire_and_resume_does_not_flood(tmp_path):
    from reconciler.plan.suspension import set_suspended

    clock = FakeClock(T0)
    store, _ = make(tmp_path, '- {name: s, cron: "*/5 * * * *", collect: {hostCollectors: [{ok: {}}]}}\n', clock)
    set_suspended(store, "s", suspended=True, now=clock.now(), lock_timeout=1, command="test")
    d = daemon(store, clock)
    clock.advance(hours=2)
    d.tick()
    clock.advance(seconds=30)
    set_suspended(store, "s", suspended=False, now=clock.now(), lock_timeout=1, command="test")
    d.tick()
    settle(d)
    assert records(store) == []
    clock.set(datetime(2026, 6, 1, 14, 5, 1, tzinfo=timezone.utc))
    d.tick()
    settle(d)
    d.close()
    assert [r["id"] for r in records(store)] == ["s-20260601T1405Z"]


def test_runs_left_running_by_a_dead_process_are_failed_interrupted_at_start(tmp_path):
    clock = FakeClock(T0)
    store, _ = make(tmp_path, '- {name: h, cron: "0 * * * *", collect: {hostCollectors: [{ok: {}}]}}\n', clock)
    dead = {"id": "h-20260601T1100Z", "schedule": "h", "set": "d", "trigger": "schedule",
            "scheduledTime": "2026-06-01T11:00:00+00:00", "status": "running", "reason": None,
            "runner": {"pid": 2**22 + 7, "host": os.uname().nodename}}
    executions.write(store.root, dead)
    state = store.read()
    state["schedules"]["h"]["status"]["active"] = [dead["id"]]
    with store.locked(timeout=1, command="test", now=clock.now()):
        store.write(state)
    d = daemon(store, clock)
    d.close()
    (record,) = records(store)
    assert (record["status"], record["reason"]) == ("failed", "interrupted")
    status = store.read()["schedules"]["h"]["status"]
    assert status["active"] == [] and status["lastResult"] == "failed" and status["consecutiveFailures"] == 1


def test_a_thousand_runs_ending_together_make_a_handful_of_state_writes(tmp_path):
    clock = FakeClock(T0)
    body = "".join(f'- {{name: s{i:04d}, cron: "0 13 * * *", collect: {{hostCollectors: [{{ok: {{}}}}]}}}}\n'
                   for i in range(200))
    store, _ = make(tmp_path, body, clock)
    serial = store.read()["serial"]
    d = daemon(store, clock, max_concurrent=8)
    clock.set(datetime(2026, 6, 1, 13, 0, 1, tzinfo=timezone.utc))
    d.tick()
    d.wait_idle()
    d.close()
    assert len(records(store)) == 200 and all(r["status"] == "completed" for r in records(store))
    writes = store.read()["serial"] - serial
    assert writes < 100, writes  # 400 status changes (start + end of 200 runs), a write per 0.2 s at most
    assert all(s["status"]["lastResult"] == "completed" for s in store.read()["schedules"].values())


def test_one_daemon_per_state_dir(tmp_path):
    pidfile = PidFile(tmp_path)
    pidfile.acquire(T0)
    other = PidFile(tmp_path)
    with pytest.raises(AlreadyRunning, match=f"pid {os.getpid()}"):
        other.acquire(T0)
    assert other.running()["pid"] == os.getpid()
    pidfile.release()
    assert other.running() is None


def test_transient_failures_retry_with_backoff_and_permanent_ones_do_not(tmp_path, monkeypatch):
    from reconciler.run import bundle

    real_archive, calls = bundle.archive, []

    def flaky(staging, destination):
        calls.append(destination)
        if len(calls) <= 2:
            raise OSError(28, "No space left on device")
        return real_archive(staging, destination)

    monkeypatch.setattr(bundle, "archive", flaky)
    clock = FakeClock(T0)
    store, _ = make(tmp_path, """
        - name: r
          cron: "0 13 * * *"
          policy: {retries: 2, backoffSeconds: 10}
          collect: {hostCollectors: [{ok: {}}]}
    """, clock)
    d = daemon(store, clock)
    clock.set(datetime(2026, 6, 1, 13, 0, 1, tzinfo=timezone.utc))
    d.tick()
    d.wait_idle()
    first_retry = d._next_retry()
    assert timedelta(seconds=10) <= first_retry - clock.now() <= timedelta(seconds=15)
    (record,) = records(store)   # waiting in backoff: `history` says so, and when it tries again
    assert (record["status"], record["attempt"], record["error"]["class"]) == ("retrying", 1, "transient")
    assert record["nextAttemptTime"] == first_retry.isoformat()
    clock.set(first_retry)
    d.tick()
    d.wait_idle()
    second_retry = d._next_retry()
    assert timedelta(seconds=20) <= second_retry - clock.now() <= timedelta(seconds=30)
    clock.set(second_retry)
    d.tick()
    settle(d)
    d.close()
    (record,) = records(store)
    assert (record["id"], record["status"], record["attempt"]) == ("r-20260601T1300Z", "completed", 3)
    assert len(calls) == 3 and d._next_retry() is None
    assert store.read()["schedules"]["r"]["status"]["runCount"] == 1   # one run, however many attempts


def test_a_run_retry_waits_as_the_one_backoff_policy_says_with_the_daemon_s_random_source(tmp_path):
    clock = FakeClock(T0)
    store, _ = make(tmp_path, '- {name: r, cron: "0 13 * * *", policy: {retries: 3, backoffSeconds: 10}}', clock)
    d = daemon(store, clock, random=Random(19).random)
    try:
        for attempt in (1, 2, 3, 4):   # the fourth has no retry left
            d._maybe_retry(ExecutionRecord.from_json({
                "id": "r-20260601T1300Z", "schedule": "r", "status": "failed", "trigger": "schedule",
                "attempt": attempt, "scheduledTime": "2026-06-01T13:00:00+00:00",
                "error": {"class": "transient", "message": "disk full"}}))
        waits = [(when - clock.now()).total_seconds() for when, *_ in sorted(d.retries)]
        assert waits == pytest.approx([13.385629, 23.924557, 42.602331], abs=1e-6)
    finally:
        d.close()


def test_an_unreachable_api_server_is_retried_per_policy_and_the_retry_collects(tmp_path):
    """The API server is down at the slot (transient failure), then up at the retry, on the same URL."""
    from urllib.parse import urlsplit

    from reconciler.collect.kube import CLUSTER_COLLECTORS

    from ...fakes.kube_api import FakeKubeApi
    from ...fakes.kubeconfig import unreachable_url, write_kubeconfig
    from ...kube_fixtures import BASELINE_BUNDLE

    url = unreachable_url()
    kubeconfig = write_kubeconfig(tmp_path / "kubeconfig", url)
    clock = FakeClock(T0)
    store, _ = make(tmp_path, f"""
        - name: k
          cron: "0 13 * * *"
          policy: {{retries: 1, backoffSeconds: 10}}
          collect: {{cluster: true, kubeconfig: {kubeconfig}, collectors: [{{clusterInfo: {{}}}}]}}
    """, clock)
    d = Daemon(store, clock, registry=Registry(host={}, cluster=CLUSTER_COLLECTORS))
    d.open()
    clock.set(datetime(2026, 6, 1, 13, 0, 1, tzinfo=timezone.utc))
    d.tick()
    d.wait_idle()
    (record,) = records(store)
    assert (record["status"], record["reason"], record["error"]["class"]) == ("retrying", "cluster-unreachable",
                                                                              "transient")
    assert url in record["error"]["message"]
    with FakeKubeApi.from_archive(BASELINE_BUNDLE, port=urlsplit(url).port):
        clock.set(d._next_retry())
        d.tick()
        settle(d)
    d.close()
    (record,) = records(store)
    assert (record["status"], record["attempt"], record["bundle"]["collectors"]["succeeded"]) == ("completed", 2, 1)


def test_a_state_that_cannot_be_reread_keeps_the_loop_running_on_what_it_read_before(tmp_path, caplog):
    clock = FakeClock(T0)
    store, _ = make(tmp_path, """
        - name: s
          cron: "0 13 * * *"
          collect: {hostCollectors: [{ok: {}}]}
    """, clock)
    d = daemon(store, clock)
    good = store.path.read_bytes()
    store.path.write_bytes(b'{"serial": 3, "schedules": {"s": {')   # torn by hand, say
    d.request_reload()
    clock.set(datetime(2026, 6, 1, 13, 0, 1, tzinfo=timezone.utc))
    d.tick()   # must not raise: the slot still fires from the schedules read before
    d.wait_idle()
    assert "cannot re-read the state" in caplog.text
    assert [r["id"] for r in records(store)] == ["s-20260601T1300Z"]
    store.path.write_bytes(good)
    d.tick()
    assert set(d.index) == {"s"}
    d.close()


def test_a_daemon_starting_while_a_status_probe_holds_the_pid_lock_still_starts(tmp_path):
    """`running()` probes take daemon.pid's flock for an instant (daemon start polls with them while its
    child starts); a daemon acquiring in that instant waits it out instead of exiting 'already running'."""
    import filelock

    probe = filelock.FileLock(str(tmp_path / "daemon.pid"), thread_local=False)   # released by the timer thread
    probe.acquire(timeout=0)
    threading.Timer(0.1, probe.release).start()
    pidfile = PidFile(tmp_path)
    pidfile.acquire(T0)
    assert pidfile.running()["pid"] == os.getpid()
    pidfile.release()


TWO = """apiVersion: sbsched/v1
kind: ScheduleSet
metadata: {name: d}
defaults: {collect: {cluster: false, hostCollectors: [{ok: {}}]}}
schedules:
  - {name: a, cron: "0 13 * * *"}
  - {name: gone, cron: "0 13 * * *"}
"""


def own_status_write_on_top(d: Daemon) -> None:
    """The daemon's status writer writes after an external change, as a finishing run's batch would."""
    d.batcher.submit(lambda state: state)
    d.batcher.close()   # flushes: the write is on disk when this returns


@pytest.mark.parametrize("signalled", [False, True], ids=["noticed-on-wake", "daemon-reload"])
def test_an_apply_followed_by_the_daemons_own_status_write_is_still_re_planned(tmp_path, signalled):
    """Lost reload: the daemon took a file stamp equal to its own latest write for "nothing changed", so an
    apply that a status write landed on top of was never planned (a deleted schedule kept firing)."""
    clock = FakeClock(T0)
    store, path = make(tmp_path, '- {name: a, cron: "0 13 * * *"}\n', clock)
    reapply(store, path, TWO, clock)
    d = daemon(store, clock)
    d.tick()
    reapply(store, path, TWO.replace('  - {name: gone, cron: "0 13 * * *"}\n', ""), clock)
    own_status_write_on_top(d)
    if signalled:
        d.request_reload()
    clock.set(datetime(2026, 6, 1, 13, 0, 5, tzinfo=timezone.utc))
    d.tick()
    d.wait_idle()
    d.close()
    assert [r["id"] for r in records(store)] == ["a-20260601T1300Z"]


def test_daemon_reload_re_plans_even_when_the_state_is_unchanged(tmp_path, monkeypatch):
    clock = FakeClock(T0)
    store, _ = make(tmp_path, '- {name: a, cron: "0 13 * * *", collect: {hostCollectors: [{ok: {}}]}}\n', clock)
    d = daemon(store, clock)
    d.tick()
    own_status_write_on_top(d)
    reads = []
    original = store.iter_records
    monkeypatch.setattr(store, "iter_records", lambda: reads.append(1) or original())
    d.tick()
    assert reads == []          # unchanged: nothing re-read
    d.request_reload()
    d.tick()
    d.close()
    assert reads == [1]


def break_records(store: StateStore, edits: dict) -> None:
    """Edit stored records by hand, as an older tzdata or a hand edit would leave them."""
    state = store.read()
    for name, edit in edits.items():
        edit(state["schedules"][name])
    with store.locked(timeout=5, command="test", now=T0):
        state["serial"] += 1
        store.write(state)


def test_a_schedule_that_cannot_be_timed_is_skipped_named_once_per_reload_and_the_others_run(tmp_path, caplog):
    from reconciler.daemon.metrics import Metrics

    clock = FakeClock(T0)
    store, _ = make(tmp_path, """
        - {name: good, cron: "0 13 * * *", collect: {hostCollectors: [{ok: {}}]}}
        - {name: mars, cron: "0 13 * * *", collect: {hostCollectors: [{ok: {}}]}}
        - {name: badcron, cron: "0 13 * * *", collect: {hostCollectors: [{ok: {}}]}}
        - {name: badstamp, cron: "0 13 * * *", collect: {hostCollectors: [{ok: {}}]}}
    """, clock)
    break_records(store, {"mars": lambda r: r["spec"].update(timezone="Mars/Olympus"),
                          "badcron": lambda r: r["spec"].update(cron="61 13 * * *"),
                          "badstamp": lambda r: r["metadata"].update(createdTime=5)})
    metrics = Metrics()
    d = daemon(store, clock, metrics=metrics)
    d.tick()
    clock.set(datetime(2026, 6, 1, 13, 0, 5, tzinfo=timezone.utc))
    d.tick()
    d.wait_idle()
    d.close()
    assert [r["id"] for r in records(store)] == ["good-20260601T1300Z"]
    assert set(d.broken) == {"mars", "badcron", "badstamp"}
    for name in d.broken:
        assert caplog.text.count(f"{name}: not scheduled:") == 1
        assert metrics.registry.get_sample_value("troubleshoot_scheduler_schedule_invalid", {"schedule": name}) == 1
    assert "Mars/Olympus" in d.broken["mars"] and "61" in d.broken["badcron"]
    assert metrics.registry.get_sample_value("troubleshoot_scheduler_schedule_invalid", {"schedule": "good"}) is None


def test_a_burst_of_due_slots_is_handed_over_with_the_cyclic_gc_paused_each_slot_once(tmp_path):
    """10,000 slots in one tick make ~100,000 short-lived objects: a collection midway (several, at
    that size) made the last slot's hand-over 3x later. The collector is back on once the tick is done."""
    clock = FakeClock(T0)
    body = "".join(f'- {{name: s{i:03d}, cron: "0 13 * * *", collect: {{hostCollectors: [{{ok: {{}}}}]}}}}\n'
                   for i in range(50))
    store, _ = make(tmp_path, body, clock)
    seen: list[tuple[str, bool]] = []
    d = daemon(store, clock, on_dispatch=lambda active, now: seen.append((active.run_id, gc.isenabled())))
    clock.set(datetime(2026, 6, 1, 13, 0, 1, tzinfo=timezone.utc))
    d.tick()
    assert gc.isenabled()
    d.tick()
    d.wait_idle()
    d.close()
    assert sorted(seen) == [(f"s{i:03d}-20260601T1300Z", False) for i in range(50)]
    assert [r["status"] for r in records(store)] == ["completed"] * 50


def test_a_burst_is_handed_to_the_pool_as_one_work_item_per_worker_and_every_run_completes_once(tmp_path):
    """Issue 23: a Future, its work item and two Events per slot made 10,000 slots cost ~20 us each in
    the tick; the burst is queued and each worker takes runs from it, made when they start."""
    clock = FakeClock(T0)
    body = "".join(f'- {{name: s{i:03d}, cron: "0 13 * * *", collect: {{hostCollectors: [{{ok: {{}}}}]}}}}\n'
                   for i in range(50))
    store, _ = make(tmp_path, body, clock)
    d = daemon(store, clock, max_concurrent=4)
    submitted: list[object] = []
    submit = d.pool.submit
    d.pool.submit = lambda *args, **kw: submitted.append(args) or submit(*args, **kw)  # type: ignore[method-assign]
    clock.set(datetime(2026, 6, 1, 13, 0, 1, tzinfo=timezone.utc))
    d.tick()
    assert len(submitted) <= 4
    d.wait_idle()
    d.close()
    assert [(r["id"], r["status"]) for r in records(store)] == [(f"s{i:03d}-20260601T1300Z", "completed")
                                                                for i in range(50)]


def poll(condition, timeout: float = 10.0) -> bool:
    """Whether `condition` (read under no lock of ours) became true before the deadline."""
    pause, deadline = threading.Event(), time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        pause.wait(0.01)
    return True


def test_runs_still_queued_when_the_daemon_stops_never_start_and_their_slots_stay_free(tmp_path):
    clock = FakeClock(T0)
    body = "".join(f'- {{name: b{i}, cron: "0 13 * * *", collect: {{hostCollectors: [{{blocked: {{}}}}]}}}}\n'
                   for i in range(6))
    store, _ = make(tmp_path, body, clock)
    d = daemon(store, clock, max_concurrent=2)
    clock.set(datetime(2026, 6, 1, 13, 0, 1, tzinfo=timezone.utc))
    d.tick()
    assert held.wait(10)
    closing = threading.Thread(target=d.close)
    closing.start()
    assert poll(lambda: not d.queue and len(d.active) == 2)  # close() drops the queue, then waits for the 2
    gate.set()
    closing.join(10)
    assert not closing.is_alive()
    d.wait_idle()
    assert [r["status"] for r in records(store)] == ["completed", "completed"]
    assert all(s["status"]["active"] == [] for s in store.read()["schedules"].values())


def test_a_queued_run_cancelled_before_it_starts_starts_cancelled_and_ends_at_once(tmp_path):
    clock = FakeClock(T0)
    store, _ = make(tmp_path, """
        - {name: a, cron: "0 13 * * *", collect: {hostCollectors: [{blocked: {}}]}}
        - name: c
          cron: "0 * * * *"
          policy: {concurrency: Replace}
          collect: {hostCollectors: [{ok: {}}]}
    """, clock)
    d = daemon(store, clock, max_concurrent=1)
    clock.set(datetime(2026, 6, 1, 13, 0, 1, tzinfo=timezone.utc))
    d.tick()            # a runs (held), c's 13:00 waits in the queue
    assert held.wait(10)
    clock.set(datetime(2026, 6, 1, 14, 0, 1, tzinfo=timezone.utc))
    d.tick()            # c's 14:00 replaces its queued 13:00
    gate.set()
    settle(d)
    d.close()
    assert [(r["id"], r["status"], r.get("reason")) for r in records(store)] == [
        ("a-20260601T1300Z", "completed", None),
        ("c-20260601T1300Z", "failed", "replaced by c-20260601T1400Z"),
        ("c-20260601T1400Z", "completed", None)]


def test_a_queued_run_whose_schedule_is_deleted_before_it_starts_still_runs_and_the_daemon_goes_idle(tmp_path):
    """Its record is the one it was dispatched with: a run never depends on what a later reload removed."""
    clock = FakeClock(T0)
    body = ('- {name: a, cron: "0 13 * * *", collect: {hostCollectors: [{blocked: {}}]}}\n'
            '- {name: b, cron: "0 13 * * *", collect: {hostCollectors: [{ok: {}}]}}\n')
    store, path = make(tmp_path, body, clock)
    d = daemon(store, clock, max_concurrent=1)
    clock.set(datetime(2026, 6, 1, 13, 0, 1, tzinfo=timezone.utc))
    d.tick()            # a runs (held), b waits in the queue
    assert held.wait(10)
    reapply(store, path, path.read_text().replace(body.splitlines()[1], ""), clock)
    d.tick()            # the reload drops b from what the loop keeps
    gate.set()
    idle = threading.Thread(target=d.wait_idle, daemon=True)
    idle.start()
    idle.join(10)
    assert not idle.is_alive(), "a run queued before its schedule was deleted never ended"
    d.close()
    assert [(r["id"], r["status"]) for r in records(store)] == [("a-20260601T1300Z", "completed"),
                                                                ("b-20260601T1300Z", "completed")]


class SteppingClock(FakeClock):
    """Every look at the time moves it on 1 ms: how long the tick's own work took becomes visible."""

    def now(self) -> datetime:
        self.advance(milliseconds=1)
        return self.current


def test_a_burst_s_runs_record_as_dispatch_time_when_the_workers_could_take_them_not_the_tick_s_start(tmp_path):
    """dispatchTime - slot is the dispatch lateness the design bounds: it must not hide the tick's work."""
    clock = SteppingClock(T0)
    body = "".join(f'- {{name: s{i}, cron: "0 13 * * *", collect: {{hostCollectors: [{{ok: {{}}}}]}}}}\n'
                   for i in range(3))
    store, _ = make(tmp_path, body, clock)
    d = daemon(store, clock)
    clock.set(datetime(2026, 6, 1, 13, 0, 1, tzinfo=timezone.utc))
    seen: list[datetime] = []
    d.on_dispatch = lambda active, now: seen.append(now)
    d.tick()
    d.wait_idle()
    d.close()
    dispatched = [datetime.fromisoformat(r["dispatchTime"]) for r in records(store)]
    assert len(dispatched) == 3 and set(dispatched) == set(seen) and min(seen) > d.last_tick, (dispatched, seen)
