"""An upload endpoint that flaps: half of all requests fail, as 5xx, resets and stalls.

A local HTTP server (127.0.0.1 only) answers each PUT, at random: 50 % stored and 200; otherwise one of
503, 500 before reading the body, a reset halfway through the body, a stall (the body read, then 1.5 s of
silence and a close), or the body stored and then a reset (the client cannot know it landed). It keeps
every object it stored, with its sha256, and counts the PUTs per object.

N `sbsched run`s (three schedules, three at a time) upload to `http://127.0.0.1:PORT/bundles/` with
`policy: {retries: 5, backoffSeconds: 0.1}` (one schedule `retries: 1`, so some runs run out). Every run must end either uploaded (the server holds that
object, with the record's sha256) or failed with reason `upload` and the attempts and error in its
record, the bundle kept locally (same size and sha256). No two objects may hold the same bundle.
"""
from __future__ import annotations

import hashlib
import http.server
import json
import random
import socket
import socketserver
import struct
import subprocess
import textwrap
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from .common import SBSCHED, Result, environment, records, workdir

RUNS = 30
STALL_S = 1.5
MODES = ("ok",) * 5 + ("503", "500-early", "reset-mid-body", "stall", "store-then-reset")


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True

    def __init__(self, seed: int) -> None:
        super().__init__(("127.0.0.1", 0), Handler)
        self.rng = random.Random(seed)
        self.lock = threading.Lock()
        self.objects: dict[str, str] = {}       # path -> sha256 of what is stored there
        self.puts: Counter[str] = Counter()     # path -> PUT requests seen
        self.modes: Counter[str] = Counter()
        self.stopping = threading.Event()

    def choose(self, path: str) -> str:
        with self.lock:
            mode = self.rng.choice(MODES)
            self.modes[mode] += 1
            self.puts[path] += 1
            return mode

    def store(self, path: str, body: bytes) -> None:
        with self.lock:
            self.objects[path] = hashlib.sha256(body).hexdigest()


class Handler(http.server.BaseHTTPRequestHandler):
    server: Server
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002  (the base class's name)
        pass

    def _reset(self) -> None:
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.close_connection = True
        self.connection.close()

    def _body(self, limit: int | None = None) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length if limit is None else min(limit, length))

    def do_PUT(self) -> None:  # noqa: N802  (http.server's naming)
        path = urlsplit(self.path).path
        mode = self.server.choose(path)
        if mode == "500-early":
            self._answer(500)
            self.close_connection = True
            return
        if mode == "reset-mid-body":
            self._body(limit=int(self.headers.get("Content-Length") or 0) // 2)
            self._reset()
            return
        body = self._body()
        if mode == "503":
            self._answer(503)
        elif mode == "stall":
            self.server.stopping.wait(STALL_S)
            self.close_connection = True
        elif mode == "store-then-reset":
            self.server.store(path, body)
            self._reset()
        else:
            self.server.store(path, body)
            self._answer(200)

    def _answer(self, code: int) -> None:
        self.send_response(code)
        self.send_header("Content-Length", "0")
        self.end_headers()


def _manifest(path: Path, port: int) -> Path:
    path.write_text(textwrap.dedent(f"""\
        apiVersion: sbsched/v1
        kind: ScheduleSet
        metadata: {{name: flap}}
        defaults:
          collect:
            cluster: false
            hostCollectors:
              - cpu: {{}}
              - run: {{collectorName: noise, command: sh, args: ["-c", "head -c 60000 /dev/urandom | base64"], timeout: 30s}}
          upload: {{url: "http://127.0.0.1:{port}/bundles/"}}
          policy: {{retries: 5, backoffSeconds: 0.1, timeoutSeconds: 120}}
        schedules:
          - {{name: one, cron: "0 3 29 2 *"}}
          - {{name: two, cron: "0 3 29 2 *"}}
          - {{name: three, cron: "0 3 29 2 *", policy: {{retries: 1, backoffSeconds: 0.1}}}}
        """))
    return path


def run(seed: int = 1, *, runs: int = RUNS) -> Result:
    result = Result("upload endpoint flapping")
    started = time.monotonic()
    work = workdir("upload")
    env = environment(work / "state")
    server = Server(seed)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        manifest = _manifest(work / "schedules.yaml", server.server_address[1])
        applied = subprocess.run([SBSCHED, "apply", "-f", str(manifest)], env=env, capture_output=True, text=True)
        if applied.returncode != 0:
            result.fail(f"apply: exit {applied.returncode}: {applied.stderr.strip()[:200]}")
            return result
        names = ["one", "two", "three"]
        outputs: list[tuple[str, subprocess.CompletedProcess[str]]] = []
        for wave in range(0, runs, len(names)):
            procs = [(n, subprocess.Popen([SBSCHED, "run", n, "-o", "json"], env=env, stdout=subprocess.PIPE,
                                          stderr=subprocess.PIPE, text=True))
                     for n in names[:max(0, min(len(names), runs - wave))]]
            for name, proc in procs:
                out, err = proc.communicate(timeout=300)
                outputs.append((name, subprocess.CompletedProcess(proc.args, proc.returncode, out, err)))
    finally:
        server.stopping.set()
        server.shutdown()
        server.server_close()
    uploaded = kept = 0
    attempts: Counter[int] = Counter()
    for name, proc in outputs:
        result.trials += 1
        try:
            record = json.loads(proc.stdout)
        except ValueError:
            result.fail(f"run {name}: exit {proc.returncode}, no record printed: {proc.stderr.strip()[:200]}")
            continue
        upload = record.get("upload") or {}
        bundle = record.get("bundle") or {}
        attempts[upload.get("attempts", 0)] += 1
        if record["status"] == "completed" and upload.get("status") == "uploaded":
            path = urlsplit(upload.get("url", "")).path
            if server.objects.get(path) != bundle.get("sha256"):
                result.fail(f"{record['id']}: recorded as uploaded to {path}, but the server holds "
                            f"{'nothing' if path not in server.objects else 'other bytes'} there")
            uploaded += 1
        elif record["status"] == "failed" and record.get("reason") == "upload":
            local = Path(bundle.get("path", ""))
            if not local.is_file() or local.stat().st_size != bundle.get("sizeBytes") or \
                    hashlib.sha256(local.read_bytes()).hexdigest() != bundle.get("sha256"):
                result.fail(f"{record['id']}: upload failed and the local bundle is not kept intact ({local})")
            if upload.get("status") != "failed" or not upload.get("error") or not (record.get("error") or {}).get("message"):
                result.fail(f"{record['id']}: upload failed without its reason in the record: {upload}")
            if proc.returncode != 1:
                result.fail(f"{record['id']}: a failed run exited {proc.returncode}, want 1")
            kept += 1
        else:
            result.fail(f"{record.get('id')}: ended {record['status']} ({record.get('reason')}): "
                        f"{(record.get('error') or {}).get('message', '')[:200]}")
    by_sha = Counter(server.objects.values())
    dupes = [sha for sha, n in by_sha.items() if n > 1]
    if dupes:
        result.fail(f"{len(dupes)} bundle(s) stored under more than one object name")
    every = {r["bundle"]["sha256"] for r in records(work / "state") if r.get("bundle")}
    strangers = [p for p, sha in server.objects.items() if sha not in every]
    if strangers:
        result.fail(f"{len(strangers)} stored object(s) match no bundle: {strangers[:2]}")
    landed_anyway = sum(1 for r in records(work / "state")
                        if (r.get("upload") or {}).get("status") == "failed"
                        and urlsplit(r["upload"].get("url", "")).path in server.objects)
    result.details = {"runs": len(outputs), "uploaded": uploaded, "kept locally": kept,
                      "attempts per run": dict(sorted(attempts.items())), "server answers": dict(server.modes),
                      "objects": len(server.objects), "PUTs": sum(server.puts.values()),
                      "objects PUT more than once": sum(1 for n in server.puts.values() if n > 1),
                      "failed uploads the server stored anyway": landed_anyway}
    result.notes.append(f"{uploaded} uploaded, {kept} kept locally (reason upload), "
                        f"{sum(server.puts.values())} PUTs for {len(server.objects)} objects")
    if landed_anyway:
        result.notes.append(f"{landed_anyway} run(s) recorded upload failed although the last attempt's body was "
                            "stored (the server reset the connection after storing: the client cannot know)")
    result.seconds = time.monotonic() - started
    return result


if __name__ == "__main__":
    print(json.dumps(run().to_json(), indent=2))
