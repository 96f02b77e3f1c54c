"""Webhook notifications after a run: a JSON POST, Slack-compatible, on a background thread.

`notify: [{webhook: URL, on: [failure | success | recovered], headers: {...}}]`, per schedule.
- `failure`: the run failed; `success`: it completed; `recovered`: it completed and the schedule's
  previous run had failed. A hook listening for both `success` and `recovered` gets one POST, with
  `event: recovered`. Skipped runs notify no one, but for a run skipped for lack of disk space
  (reason `low-disk`): that is a `failure` to the hooks (status `skipped`), since no bundle came.
- Payload (design §2): `{schedule, set, executionId, status, reason, bundleUrl, analysis: {pass, warn,
  fail}, text}` plus `event` (which rule matched) and `analysis.failing` (the failing analyzers' titles). `text` is one human sentence, so a Slack incoming
  webhook shows it as it is. `bundleUrl` is the uploaded object's URL (never a presigned query), else
  the local bundle as a file:// URL, else null.
- Delivery: POSTed with retries (transient errors only, exponential backoff with jitter) on a daemon
  thread, so a slow or dead webhook never delays the run or the next one; each POST has
  DEADLINE_SECONDS for the whole exchange, however slowly the webhook answers, and only a same-origin
  307/308 redirect is followed (upload/exchange.py), so a header never reaches another origin.
  Outcomes are logged on the `sbsched.notify` logger (INFO sent, WARNING gave up), with the webhook
  shown as scheme://host/… (a Slack webhook's path is its secret), and kept on the returned
  `Notification` objects for callers that want to wait (`wait()`). A short-lived process (`sbsched run`) waits at exit, up to
  `EXIT_GRACE_SECONDS`, for notifications still in flight.
"""
from __future__ import annotations

import atexit
import logging
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Mapping
from urllib.parse import urlsplit

from ..base.backoff import RetryPolicy
from ..store.records import Analysis, ExecutionRecord
from ..upload.credentials import Secrets
from ..upload.retry import Sleep, UploadError, call_with_retries, from_http_status, from_requests

log = logging.getLogger("sbsched.notify")

RETRY = RetryPolicy(retries=3, backoff_seconds=2.0, max_delay=60.0)
TIMEOUT: tuple[float, float] = (5.0, 10.0)   # (connect, between two reads)
DEADLINE_SECONDS = 15.0                     # one POST, whole: however slowly the webhook answers
EXIT_GRACE_SECONDS = 10.0
ICON = {"failure": ":x:", "success": ":white_check_mark:", "recovered": ":large_green_circle:"}

Post = Callable[[str, dict[str, Any], dict[str, str]], None]


def events(status: str, previous_status: str | None, reason: str | None = None) -> list[str]:
    """The events a run's outcome raises, the most specific first."""
    if status == "failed" or (status == "skipped" and reason == "low-disk"):
        return ["failure"]
    if status == "completed":
        return ["recovered", "success"] if previous_status == "failed" else ["success"]
    return []


def event_for(on: Iterable[str], status: str, previous_status: str | None, reason: str | None = None) -> str | None:
    """The one event a hook with `on` is told of, or None."""
    wanted = set(on)
    return next((e for e in events(status, previous_status, reason) if e in wanted), None)


def bundle_url(record: ExecutionRecord) -> str | None:
    upload = record.upload
    if upload is not None and upload.status == "uploaded" and upload.url:
        return str(upload.url)
    path = record.bundle.path if record.bundle is not None else None
    return f"file://{path}" if path else None


def payload(record: ExecutionRecord, *, event: str) -> dict[str, Any]:
    analysis = record.analysis or Analysis({})
    counts: dict[str, Any] = {k: analysis.count(k) for k in ("pass", "warn", "fail")}
    counts["failing"] = analysis.failing   # the failing analyzers' titles
    body = {"schedule": record.schedule, "set": record.set, "executionId": record.id,
            "status": record.status, "reason": record.reason, "bundleUrl": bundle_url(record),
            "analysis": counts, "event": event}
    body["text"] = text(body, error=record.error.message if record.error is not None else None)
    return body


def text(body: Mapping[str, Any], *, error: str | None = None) -> str:
    """One sentence for people (and Slack): what ran, how it ended, where the bundle is."""
    event = body["event"]
    what = f"sbsched: {body['schedule']} (set {body['set']})"
    if event == "failure":
        verb = "was skipped" if body.get("status") == "skipped" else "failed"
        head = f"{what} {verb}" + (f" ({body['reason']})" if body.get("reason") else "")
        head += f": {error}" if error else ""
    elif event == "recovered":
        head = f"{what} recovered: completed after a failed run"
    else:
        head = f"{what} completed"
    counts = body["analysis"]
    parts = [f"{ICON[event]} {head}.", f"Execution {body['executionId']}."]
    if body.get("bundleUrl"):
        parts.append(f"Bundle: {body['bundleUrl']}.")
    parts.append(f"Analysis: {counts['pass']} pass, {counts['warn']} warn, {counts['fail']} fail"
                 + (f" ({', '.join(counts['failing'])})." if counts.get("failing") else "."))
    return _slack_escape(" ".join(parts))


def _slack_escape(value: str) -> str:
    return value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def shown(url: str) -> str:
    """A webhook URL as logs show it: scheme://host[:port]/… (the path of a Slack webhook is a secret)."""
    parts = urlsplit(url)
    host = parts.netloc.rsplit("@", 1)[-1]
    return f"{parts.scheme}://{host}/…"


@dataclass
class Notification:
    """One webhook POST: `status` pending → sent | failed, with `attempts` and `error` once done."""

    webhook: str
    event: str
    status: str = "pending"
    attempts: int = 0
    error: str | None = None
    done: threading.Event = field(default_factory=threading.Event, repr=False)

    def wait(self, timeout: float | None = None) -> bool:
        return self.done.wait(timeout)

    def to_json(self) -> dict[str, Any]:
        return {"webhook": self.webhook, "event": self.event, "status": self.status, "attempts": self.attempts,
                "error": self.error}


def send(hooks: Iterable[Mapping[str, Any]], record: ExecutionRecord, *, previous_status: str | None,
         env: Mapping[str, str], sleep: Sleep = time.sleep, post: Post | None = None,
         background: bool = True) -> list[Notification]:
    """Start the POSTs the run's outcome calls for; returns at once (unless `background` is False)."""
    jobs: list[tuple[Notification, Mapping[str, Any], dict[str, Any]]] = []
    for hook in hooks:
        event = event_for(hook.get("on") or ["failure"], record.status, previous_status, record.reason)
        if event is not None:
            jobs.append((Notification(shown(str(hook["webhook"])), event), hook, payload(record, event=event)))
    if not jobs:
        return []
    work = [_deliver_one(n, hook, body, env=env, sleep=sleep, post=post or _post) for n, hook, body in jobs]

    def run_all() -> None:
        for job in work:
            job()

    if background:
        _track([n for n, _, _ in jobs])
        threading.Thread(target=run_all, name=f"sbsched-notify-{record.id}", daemon=True).start()
    else:
        run_all()
    return [n for n, _, _ in jobs]


def _deliver_one(notification: Notification, hook: Mapping[str, Any], body: dict[str, Any], *,
                 env: Mapping[str, str], sleep: Sleep, post: Post) -> Callable[[], None]:
    def run() -> None:
        secrets = Secrets(env)
        try:
            headers = {"Content-Type": "application/json"}
            for name, value in (hook.get("headers") or {}).items():
                headers[name] = secrets.header(name, value, what="notify.headers")
            url = str(hook["webhook"])
            _, notification.attempts = call_with_retries(lambda: post(url, body, headers), RETRY, sleep=sleep)
            notification.status = "sent"
            log.info("%s: notified %s of %s", body["executionId"], notification.webhook, notification.event)
        except UploadError as exc:
            notification.status, notification.attempts = "failed", exc.attempts
            notification.error = secrets.scrub(exc.message)
            log.warning("%s: webhook %s failed after %d attempt(s): %s", body["executionId"], notification.webhook,
                        exc.attempts, notification.error)
        except Exception as exc:  # never let a notification take the process down
            notification.status, notification.error = "failed", f"{type(exc).__name__}"
            log.warning("%s: webhook %s failed: %s", body["executionId"], notification.webhook, notification.error)
        finally:
            notification.done.set()
            with _pending_lock:
                _pending.pop(id(notification), None)

    return run


def _post(url: str, body: dict[str, Any], headers: dict[str, str]) -> None:
    import requests

    from ..upload.exchange import Watchdog, guard

    what = f"POST {shown(url)}"
    with Watchdog(time.monotonic() + DEADLINE_SECONDS) as watchdog:
        try:
            with guard(requests.Session(), what=what, show=shown, watchdog=watchdog) as session, \
                    session.post(url, json=body, headers=headers, timeout=TIMEOUT, stream=True) as response:
                if not 200 <= response.status_code < 300:
                    raise from_http_status(response.status_code, response.reason or "", response.headers, what=what)
        except requests.exceptions.RequestException as exc:
            raise watchdog.error(what) or from_requests(exc, what=what) from exc


_pending: dict[int, Notification] = {}
_pending_lock = threading.Lock()
_registered = False


def _track(notifications: list[Notification]) -> None:
    global _registered
    with _pending_lock:
        for n in notifications:
            _pending[id(n)] = n
        if not _registered:
            atexit.register(drain)
            _registered = True


def drain(timeout: float = EXIT_GRACE_SECONDS) -> None:
    """Wait (at most `timeout` in all) for notifications still being sent; called at interpreter exit."""
    deadline = time.monotonic() + timeout
    with _pending_lock:
        pending = list(_pending.values())
        _pending.clear()
    for notification in pending:
        if not notification.wait(max(0.0, deadline - time.monotonic())):
            log.warning("webhook %s: still sending at exit; given up", notification.webhook)
