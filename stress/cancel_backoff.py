"""cancel-during-backoff: `sbsched daemon stop --grace G` while a run waits out an upload retry backoff.

Each trial has its own state dir and one schedule firing every minute that uploads to a local HTTP
server (127.0.0.1 only) answering every PUT with 503, under `policy: {retries: 3, backoffSeconds: 30}`:
after its first attempt the run waits 30-45 s. The daemon is started as a user starts it (`sbsched
daemon start`, in the background) with the clock hook set so that its clock reads 1.5 s before the
minute (it starts with a catch-up run for the minute missed since the apply, and skips the next slot
under `concurrency: Forbid` while that run waits); once the server has seen the first PUT, `sbsched
daemon stop --grace G` (G = 0, 1, 2, 3 s) is timed until it returns. The daemon drains for G seconds,
then cancels the run: the backoff must end at once, so `stop` must return within G + 5 s without
escalating to SIGKILL, the run's record must be `failed` with reason `shutdown` (never left
`running`), the schedule's `active` list empty, and the server must have seen exactly one PUT (no
attempt after the cancel). Before the fix the backoff slept through the cancel: stop escalated to
SIGKILL after G + 30 s and left the record `running`.
"""
from __future__ import annotations

import http.server
import json
import socketserver
import threading
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from .common import Result, environment, read_json, records, sbsched, wait_until, workdir

GRACES = (0, 1, 2, 3)
LEAD_S = 1.5          # the daemon's clock starts this long before its slot
LIMIT_S = 5.0         # stop may take this much longer than its grace
UTC = timezone.utc


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), Handler)
        self.puts = 0
        self.lock = threading.Lock()


class Handler(http.server.BaseHTTPRequestHandler):
    server: Server
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002  (the base class's name)
        pass

    def do_PUT(self) -> None:  # noqa: N802  (http.server's naming)
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        with self.server.lock:
            self.server.puts += 1
        self.send_response(503)
        self.send_header("Content-Length", "0")
        self.end_headers()


def _manifest(path: Path, port: int) -> Path:
    path.write_text(f"""\
apiVersion: sbsched/v1
kind: ScheduleSet
metadata: {{name: backoff}}
schedules:
  - name: slow-upload
    cron: "* * * * *"
    collect: {{cluster: false, hostCollectors: [{{cpu: {{}}}}]}}
    upload: {{url: "http://127.0.0.1:{port}/bundles/"}}
    policy: {{retries: 3, backoffSeconds: 30, timeoutSeconds: 600}}
""")
    return path


def trial(result: Result, grace: int, index: int) -> dict[str, Any] | None:
    work = workdir(f"backoff-{index}")
    state_dir = work / "state"
    server = Server()
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        manifest = _manifest(work / "schedules.yaml", server.server_address[1])
        applied = sbsched("apply", "-f", str(manifest), env=environment(state_dir))
        if applied.returncode != 0:
            result.fail(f"grace {grace}: apply exited {applied.returncode}: {applied.stderr.strip()[:200]}")
            return None
        slot = (datetime.now(UTC) + timedelta(minutes=2)).replace(second=0, microsecond=0)
        offset = (slot - timedelta(seconds=LEAD_S)).timestamp() - time.time()
        env = environment(state_dir, SBSCHED_CLOCK_OFFSET_SECONDS=f"{offset:.6f}")
        started = sbsched("daemon", "start", env=env, timeout=60)
        if started.returncode != 0:
            result.fail(f"grace {grace}: daemon start exited {started.returncode}: {started.stderr.strip()[:200]}")
            return None
        if not wait_until(lambda: server.puts >= 1, timeout=60):
            result.fail(f"grace {grace}: the run never made its first upload attempt")
            sbsched("daemon", "stop", "--grace", "0", env=env, timeout=120)
            return None
        began = time.monotonic()
        stopped = sbsched("daemon", "stop", "--grace", str(grace), env=env, timeout=120)
        took = time.monotonic() - began
    finally:
        server.shutdown()
        server.server_close()
    ran = [r for r in records(state_dir) if r.get("status") != "skipped"]   # the slot that came while the
    record = ran[0] if len(ran) == 1 else {}                                # run waited is skipped (Forbid)
    active = (read_json(state_dir / "state.json")["schedules"]["slow-upload"].get("status") or {}).get("active")
    problems = [] if len(ran) == 1 else [f"{len(ran)} runs, want 1"]
    if stopped.returncode != 0:
        problems.append(f"stop exited {stopped.returncode}: {stopped.stderr.strip()[:200]}")
    if took > grace + LIMIT_S:
        problems.append(f"stop took {took:.1f} s with --grace {grace}")
    if (record.get("status"), record.get("reason")) != ("failed", "shutdown"):
        problems.append(f"the record is {record.get('status')} ({record.get('reason')}), want failed (shutdown)")
    if active:
        problems.append(f"still active: {active}")
    if server.puts != 1:
        problems.append(f"{server.puts} PUTs, want 1 (no attempt after the cancel)")
    if problems:
        result.fail(f"grace {grace}: {'; '.join(problems)}")
    return {"grace": grace, "stop seconds": round(took, 2), "status": record.get("status"),
            "reason": record.get("reason"), "PUTs": server.puts,
            "upload attempts": (record.get("upload") or {}).get("attempts")}


def run(*, graces: tuple[int, ...] = GRACES) -> Result:
    result = Result("cancel-during-backoff")
    started = time.monotonic()
    rows = []
    for index, grace in enumerate(graces):
        result.trials += 1
        row = trial(result, grace, index)
        if row is not None:
            rows.append(row)
    result.details = {"trials": rows}
    if rows:
        worst = max(r["stop seconds"] - r["grace"] for r in rows)
        result.notes.append(f"stop returned within grace + {worst:.1f} s (backoff 30 s); "
                            f"{sum(r['reason'] == 'shutdown' for r in rows)}/{len(rows)} records failed (shutdown)")
    result.seconds = time.monotonic() - started
    return result


if __name__ == "__main__":
    print(json.dumps(run().to_json(), indent=2))
