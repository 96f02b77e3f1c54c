"""hostile redirects: upload and webhook endpoints that redirect elsewhere, to steal the bundle and headers.

Two servers on 127.0.0.1: the origin the manifest names (port P) and an attacker's (port Q) that records
whatever reaches it. One manifest holds a schedule per attack, each with `X-Up: {env: UP_TOKEN}` on its
upload or `X-Hook-Key: {env: HOOK_KEY}` on its webhook (planted values); each attack is one real
`sbsched run NAME -o json`. The origin answers the attack's redirect: 301/302/303/307/308 to port Q,
scheme-relative (`//127.0.0.1:Q/`), with a user-info trick (`http://127.0.0.1:P@127.0.0.1:Q/`), to
another host name on the same port (`localhost:P`), a same-origin 307 whose second hop goes to Q,
POST uploads, webhooks, GCS (through STORAGE_EMULATOR_HOST) and S3 (through endpointUrl).

An escape is any request reaching port Q, or the origin receiving a request for another host name.
Every upload attack must also end `failed` with reason `upload`, error class `permanent` and a message
that names the refused Location (exit 1); a webhook attack must leave the run completed and a warning
naming the refused redirect on stderr. The result counts attacks tried and escapes; any escape or wrong
outcome is a failure. (S3: botocore follows no redirect to another origin, but its region redirector
asks an endpoint answering 307 to everything again and again, ~80 requests, until a RecursionError,
which fails the upload permanently: contained, and noted in the details.)
"""
from __future__ import annotations

import http.server
import json
import socketserver
import subprocess
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .common import SBSCHED, Result, environment, workdir

UP_TOKEN = "planted-stress-upload-token"
HOOK_KEY = "planted-stress-webhook-key"


@dataclass(frozen=True)
class Attack:
    name: str
    kind: str          # upload | post-upload | webhook | gcs | s3
    status: int
    location: str      # {P}: the origin's port, {Q}: the attacker's, {name}: the attack


ATTACKS = [
    Attack("put-307", "upload", 307, "http://127.0.0.1:{Q}/stolen/{name}"),
    Attack("put-308", "upload", 308, "http://127.0.0.1:{Q}/stolen/{name}"),
    Attack("put-301", "upload", 301, "http://127.0.0.1:{Q}/stolen/{name}"),
    Attack("put-302", "upload", 302, "http://127.0.0.1:{Q}/stolen/{name}"),
    Attack("put-303", "upload", 303, "http://127.0.0.1:{Q}/stolen/{name}"),
    Attack("put-307-scheme-relative", "upload", 307, "//127.0.0.1:{Q}/stolen/{name}"),
    Attack("put-307-userinfo-trick", "upload", 307, "http://127.0.0.1:{P}@127.0.0.1:{Q}/stolen/{name}"),
    Attack("put-307-other-host-name", "upload", 307, "http://localhost:{P}/stolen/{name}"),
    Attack("put-307-two-hops", "upload", 307, "/hop/{name}/x"),   # the second hop goes to Q
    Attack("post-307", "post-upload", 307, "http://127.0.0.1:{Q}/stolen/{name}"),
    Attack("webhook-307", "webhook", 307, "http://127.0.0.1:{Q}/stolen/{name}"),
    Attack("webhook-308", "webhook", 308, "http://127.0.0.1:{Q}/stolen/{name}"),
    Attack("webhook-302", "webhook", 302, "http://127.0.0.1:{Q}/stolen/{name}"),
    Attack("gcs-307", "gcs", 307, "http://127.0.0.1:{Q}/stolen/{name}"),
    Attack("s3-307", "s3", 307, "http://127.0.0.1:{Q}/stolen/{name}"),
]
BY_NAME = {attack.name: attack for attack in ATTACKS}


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True

    def __init__(self, role: str) -> None:
        super().__init__(("127.0.0.1", 0), Handler)
        self.role = role
        self.port = self.server_address[1]
        self.other_port = 0
        self.lock = threading.Lock()
        self.seen: list[dict[str, Any]] = []

    def record(self, method: str, path: str, headers: dict[str, str]) -> None:
        with self.lock:
            self.seen.append({"method": method, "path": path, "host": headers.get("Host", ""),
                              "secret": UP_TOKEN in headers.values() or HOOK_KEY in headers.values()})


class Handler(http.server.BaseHTTPRequestHandler):
    server: Server
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002  (the base class's name)
        pass

    def _handle(self) -> None:
        self._drain_body()
        server = self.server
        server.record(self.command, self.path, dict(self.headers.items()))
        attack = next((BY_NAME[part] for part in self.path.split("?")[0].split("/") if part in BY_NAME), None)
        if server.role == "attacker" or attack is None:
            self._answer(200)
            return
        if self.path.startswith(f"/hop/{attack.name}/"):   # the same-origin first hop came back: now leave
            location = f"http://127.0.0.1:{server.other_port}/stolen/{attack.name}"
        else:
            location = attack.location.format(P=server.port, Q=server.other_port, name=attack.name)
        self._answer(attack.status, location)

    def _drain_body(self) -> None:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                self.rfile.read(size + 2)
                if size == 0:
                    return
        self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def _answer(self, status: int, location: str | None = None) -> None:
        self.send_response(status)
        if location is not None:
            self.send_header("Location", location)
        self.send_header("Content-Length", "0")
        self.end_headers()

    do_GET = do_PUT = do_POST = do_HEAD = _handle  # noqa: N815  (http.server's naming)


def _schedule(attack: Attack, origin: str) -> str:
    collect = "collect: {cluster: false, hostCollectors: [{cpu: {}}]}"
    headers = "{X-Up: {env: UP_TOKEN}}"
    if attack.kind in ("upload", "post-upload"):
        method = ", method: POST" if attack.kind == "post-upload" else ""
        upload = f'upload: {{url: "{origin}/up/{attack.name}/", options: {{headers: {headers}{method}}}}}'
    elif attack.kind == "gcs":
        upload = f'upload: {{url: "gs://{attack.name}/bundles/"}}'
    elif attack.kind == "s3":
        upload = f'upload: {{url: "s3://{attack.name}/bundles/", options: {{endpointUrl: "{origin}"}}}}'
    else:
        upload = (f'notify: [{{webhook: "{origin}/hook/{attack.name}", on: [success, failure], '
                  f'headers: {{X-Hook-Key: {{env: HOOK_KEY}}}}}}]')
    policy = "policy: {retries: 1, backoffSeconds: 0.1}"
    return f'  - {{name: {attack.name}, cron: "0 3 29 2 *", {collect}, {upload}, {policy}}}\n'


def run() -> Result:
    result = Result("hostile redirects")
    started = time.monotonic()
    work = workdir("redirects")
    origin, attacker = Server("origin"), Server("attacker")
    origin.other_port = attacker.port
    for server in (origin, attacker):
        threading.Thread(target=server.serve_forever, daemon=True).start()
    origin_url = f"http://127.0.0.1:{origin.port}"
    env = environment(work / "state", UP_TOKEN=UP_TOKEN, HOOK_KEY=HOOK_KEY, STORAGE_EMULATOR_HOST=origin_url,
                      AWS_ACCESS_KEY_ID="AKIASTRESSPLANTED", AWS_SECRET_ACCESS_KEY="planted-stress-secret",
                      AWS_DEFAULT_REGION="us-east-1", AWS_EC2_METADATA_DISABLED="true",
                      AWS_CONFIG_FILE=str(work / "none"), AWS_SHARED_CREDENTIALS_FILE=str(work / "none"))
    rows: dict[str, Any] = {}
    try:
        manifest = work / "schedules.yaml"
        manifest.write_text("apiVersion: sbsched/v1\nkind: ScheduleSet\nmetadata: {name: redirects}\nschedules:\n"
                            + "".join(_schedule(attack, origin_url) for attack in ATTACKS))
        applied = subprocess.run([SBSCHED, "apply", "-f", str(manifest)], env=env, capture_output=True, text=True)
        if applied.returncode != 0:
            result.fail(f"apply: exit {applied.returncode}: {applied.stderr.strip()[:300]}")
            return result
        for attack in ATTACKS:
            result.trials += 1
            rows[attack.name] = _attack(result, attack, env, origin, attacker)
    finally:
        for server in (origin, attacker):
            server.shutdown()
            server.server_close()
    escapes = sum(row["escapes"] for row in rows.values())
    result.details = {"attacks": rows, "requests at the attacker's port": len(attacker.seen)}
    result.notes.append(f"{len(rows)} attacks, {escapes} escapes")
    result.seconds = time.monotonic() - started
    return result


def _attack(result: Result, attack: Attack, env: dict[str, str], origin: Server, attacker: Server) -> dict[str, Any]:
    before_attacker, before_origin = len(attacker.seen), len(origin.seen)
    proc = subprocess.run([SBSCHED, "run", attack.name, "-o", "json"], env=env, capture_output=True, text=True,
                          timeout=120)
    stolen = attacker.seen[before_attacker:]
    strangers = [r for r in origin.seen[before_origin:] if r["host"] != f"127.0.0.1:{origin.port}"]
    escapes = len(stolen) + len(strangers)
    problems = [f"{escapes} request(s) left the origin ({(stolen + strangers)[0]})"] if escapes else []
    try:
        record = json.loads(proc.stdout)
    except ValueError:
        record = {}
        problems.append(f"exit {proc.returncode}, no record: {proc.stderr.strip()[:200]}")
    message = (record.get("error") or {}).get("message", "")
    if record and attack.kind == "webhook":
        if record.get("status") != "completed":
            problems.append(f"the run ended {record.get('status')} ({record.get('reason')})")
        if "refused" not in proc.stderr:
            problems.append(f"no warning names the refused redirect: {proc.stderr.strip()[-200:]}")
    elif record:
        if (record.get("status"), record.get("reason")) != ("failed", "upload") or proc.returncode != 1:
            problems.append(f"ended {record.get('status')} ({record.get('reason')}), exit {proc.returncode}")
        elif attack.kind != "s3" and ("refused" not in message or "redirect to" not in message):
            problems.append(f"the message does not name the refused redirect: {message[:200]}")
    if problems:
        result.fail(f"{attack.name}: {'; '.join(problems)}")
    return {"escapes": escapes, "exit": proc.returncode, "status": record.get("status"),
            "reason": record.get("reason"), "origin requests": len(origin.seen) - before_origin,
            "message": message[:200]}


if __name__ == "__main__":
    print(json.dumps(run().to_json(), indent=2))
