"""A webhook whose outcome is known only after the command's work is done (it is sent on a background
thread) still has its failure on the command's stderr: found by `make stress` (hostile redirects) after
the run log's handler on the `sbsched` logger displaced Python's last-resort handler."""
from __future__ import annotations

import http.server
import threading

from ..conftest import run_sbsched


class _Redirects(http.server.BaseHTTPRequestHandler):
    def do_POST(self) -> None:  # noqa: N802 (http.server's name)
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.send_response(307)
        self.send_header("Location", "http://127.0.0.1:1/elsewhere")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


def test_a_refused_webhook_redirect_is_a_warning_on_the_runs_stderr(write_manifest):
    server = http.server.HTTPServer(("127.0.0.1", 0), _Redirects)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        manifest = write_manifest(f"""
            apiVersion: sbsched/v1
            kind: ScheduleSet
            metadata: {{name: hooks}}
            defaults: {{collect: {{cluster: false, hostCollectors: [{{cpu: {{}}}}]}}}}
            schedules:
              - name: hook
                cron: "0 2 * * *"
                notify: [{{webhook: "http://127.0.0.1:{server.server_port}/hook", on: [success, failure]}}]
        """)
        assert run_sbsched("apply", "-f", str(manifest)).code == 0
        ran = run_sbsched("run", "hook")
    finally:
        server.shutdown()
        server.server_close()
    assert ran.code == 0
    assert "sbsched: warning:" in ran.err and "redirect to http://127.0.0.1:1/" in ran.err and "refused" in ran.err
