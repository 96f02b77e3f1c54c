"""One run's connection to the Kubernetes API, configured by the official `kubernetes` client.

The client reads the kubeconfig or in-cluster credentials and builds the urllib3 pool (TLS, client
certificates, proxy); requests then go through that pool directly, not `ApiClient.call_api`: per
request the client rebuilds its headers, re-runs the token hook (which re-sets host and TLS settings)
and parses the URL again, about 1 ms of CPU that on a 40,000-request collection was most of the
client's time. Collectors read raw JSON, never the typed models: those drop fields they do not know
and cost a deserialise/serialise round trip per object, while a bundle wants the objects exactly as
the API server sent them. Bodies are parsed one page at a time and pod logs are streamed, so memory
does not grow with the cluster.

Errors are typed the way the run needs them:
  - `ClusterUnreachable` (transient: the run fails and is retried per policy) when no API server answers;
  - `KubeconfigError` (permanent) when the kubeconfig or context cannot be used;
  - `ApiError` for an HTTP error status, transient or permanent by the status as an upload's is;
    collectors record it (e.g. RBAC's 403) and go on.
"""
from __future__ import annotations

import json
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Iterator, Mapping
from urllib.parse import quote

from ...base.errors import PermanentError, SbschedError, TransientError, status_is_transient
from .throttle import DEFAULT_BURST, DEFAULT_QPS, MAX_RETRIES, ConcurrencyGate, RateLimiter, retry_after

CONNECT_TIMEOUT = 10.0   # seconds to reach the API server; reads get the collector's own timeout
POOL_SIZE = 16           # connections kept to the API server (bounded parallel collection uses them)
CREDENTIAL_TTL = 1.0     # seconds a credential is reused before the client's token hook runs again


class ClusterUnreachable(TransientError):
    """No answer from the API server (refused, DNS, TLS handshake, timeout, 5xx): worth a retry."""

    reason = "cluster-unreachable"


class KubeconfigError(PermanentError):
    """The kubeconfig, its context or the in-cluster credentials cannot be used."""


class ApiError(SbschedError):
    """The API server answered with an error status. `str()` is the server's own message, as Go's
    client-go prints it (troubleshoot records exactly that text in its *-errors.json files). The status
    picks the type, as an upload's does: `ApiError(503, ...)` is a TransientApiError, `ApiError(403, ...)`
    a PermanentApiError. `status_reason` is the Status object's `reason` (`Forbidden`), kept apart from
    TransientError's `reason`, which is the execution record's."""

    def __new__(cls, status: int, message: str, status_reason: str = "") -> ApiError:
        if cls is not ApiError:
            return super().__new__(cls, message)
        return super().__new__(TransientApiError if status_is_transient(status) else PermanentApiError, message)

    def __init__(self, status: int, message: str, status_reason: str = "") -> None:
        super().__init__(message)
        self.status, self.status_reason = status, status_reason

    @property
    def forbidden(self) -> bool:
        return self.status == 403

    @property
    def not_found(self) -> bool:
        return self.status == 404


class TransientApiError(ApiError, TransientError):
    """5xx, 429, 408: the API server may answer the next request."""


class PermanentApiError(ApiError, PermanentError):
    """403, 404, 409 and the other 4xx: the same request gets the same answer."""


@dataclass(frozen=True)
class ClusterSettings:
    """The schedule's `collect` keys that pick a cluster and bound what is read from it."""

    kubeconfig: str | None = None
    context: str | None = None
    namespaces: tuple[str, ...] = ()   # empty: every namespace the credentials can see
    qps: float = DEFAULT_QPS           # client-side rate limit (throttle.py): requests a second,
    burst: int = DEFAULT_BURST         # after a burst of this many


class Kube:
    """A connected API client, shared by a run's collectors (urllib3's pool is thread-safe)."""

    def __init__(self, api_client: Any, settings: ClusterSettings, default_namespace: str = "default", *,
                 limiter: RateLimiter | None = None, cancel: threading.Event | None = None) -> None:
        self.api_client = api_client
        self.cancel = cancel or threading.Event()   # the run's: set, no wait (rate limit, Retry-After) goes on
        self.settings = settings
        self.default_namespace = default_namespace
        self.server = str(api_client.configuration.host)
        self.limiter = limiter or RateLimiter(settings.qps, settings.burst, sleep=self.cancel.wait)
        self.retried_429 = 0   # 429s honoured (waited Retry-After, sent again)
        self.gate = ConcurrencyGate(POOL_SIZE)
        self._version: dict[str, Any] | None = None
        self._lock = threading.Lock()
        self._retries_lock = threading.Lock()
        self._send = _sender(api_client.rest_client.pool_manager, self.server)
        self._prefix = _path_prefix(self.server)
        self._credential: dict[str, str] = {}
        self._credential_until = float("-inf")
        self._credential_lock = threading.Lock()

    @property
    def namespaces(self) -> tuple[str, ...]:
        return self.settings.namespaces

    def version(self) -> dict[str, Any]:
        """GET /version, once per run: it is also the reachability check."""
        with self._lock:
            if self._version is None:
                self._version = self.get("/version", timeout=CONNECT_TIMEOUT)
            return self._version

    def get(self, path: str, query: Mapping[str, Any] | None = None, *, timeout: float | None = None) -> Any:
        with self.request("GET", path, query, timeout=timeout) as response:
            return json.loads(response.data)

    def post(self, path: str, body: Mapping[str, Any], *, timeout: float | None = None) -> Any:
        with self.request("POST", path, body=body, timeout=timeout) as response:
            return json.loads(response.data)

    def delete(self, path: str, *, timeout: float | None = None) -> None:
        with self.request("DELETE", path, timeout=timeout) as response:
            response.data   # read: a connection released with its answer unread would hand it to the next request

    @contextmanager
    def request(self, method: str, path: str, query: Mapping[str, Any] | None = None, *,
                body: Mapping[str, Any] | None = None, timeout: float | None = None,
                accept: str = "application/json", content_type: str = "application/json") -> Iterator[Any]:
        """The raw urllib3 response of a 2xx answer, unread (stream it or read `.data`); closed on exit.
        A body is sent as JSON, also for `application/apply-patch+yaml` (JSON is YAML)."""
        import urllib3

        target = self._prefix + path
        params = "&".join(f"{k}={quote(str(_query_value(v)))}" for k, v in (query or {}).items() if v is not None)
        target += f"?{params}" if params else ""
        headers = {**self.api_client.default_headers, **self._credentials(), "Accept": accept}
        if body is not None:
            headers["Content-Type"] = content_type
        payload = json.dumps(body).encode() if body is not None else None
        read = max(timeout, 0.001) if timeout is not None else None
        limits = urllib3.Timeout(connect=min(CONNECT_TIMEOUT, read or CONNECT_TIMEOUT), read=read)
        for attempt in range(MAX_RETRIES + 1):
            self.limiter.wait()
            self.gate.enter()
            try:
                response = self._send(method, target, body=payload, headers=headers, timeout=limits, retries=False,
                                      redirect=False, preload_content=False)
            except urllib3.exceptions.HTTPError as exc:   # refused, DNS, TLS, timeouts
                self.gate.leave()
                raise _unreachable(self.server, exc) from None
            except BaseException:
                self.gate.leave()
                raise
            wait = retry_after(response.status, response.headers) if attempt < MAX_RETRIES else None
            if wait is None:
                break
            response.data   # read, so the connection goes back to the pool clean
            response.release_conn()
            self.gate.leave(refused_for=wait)
            with self._retries_lock:   # not self._lock: version() holds it across its request
                self.retried_429 += 1
            self.limiter.pause(wait)
            if self.cancel.is_set():
                raise ApiError(response.status, f"{method} {path}: the run was cancelled while waiting out the API "
                                                f"server's Retry-After", "TooManyRequests")
        try:
            if not 200 <= response.status <= 299:
                raise _api_error(response.status, response.data)
            yield response
        finally:
            response.release_conn()
            self.gate.leave()

    def _credentials(self) -> dict[str, str]:
        """The client's auth headers, rebuilt at most every CREDENTIAL_TTL: its token hook re-reads an
        expiring token (exec plugin, service account) but also re-sets every connection setting."""
        with self._credential_lock:
            now = time.monotonic()
            if now >= self._credential_until:
                settings = self.api_client.configuration.auth_settings().values()
                self._credential = {s["key"]: s["value"] for s in settings if s["in"] == "header" and s["value"]}
                self._credential_until = now + CREDENTIAL_TTL
            return self._credential


def rate_limit(collect: Mapping[str, Any]) -> dict[str, Any]:
    """A schedule's `collect.apiRateLimit` as ClusterSettings keywords; absent: the defaults (throttle.py)."""
    limit = collect.get("apiRateLimit") or {}
    return {"qps": float(limit.get("qps", DEFAULT_QPS)), "burst": int(limit.get("burst", DEFAULT_BURST))}


def open_cluster(settings: ClusterSettings, *, cancel: threading.Event | None = None) -> Kube:
    """A connected client whose API server has answered GET /version; the run's preflight. `cancel`
    is the run's: set, the client stops waiting out 429s."""
    kube = connect(settings, cancel=cancel)
    try:
        kube.version()
    except ApiError as exc:
        if isinstance(exc, TransientError):
            raise ClusterUnreachable(f"the Kubernetes API server at {kube.server} answered HTTP {exc.status}: "
                                     f"{exc.message}") from None
        raise KubeconfigError(f"the Kubernetes API server at {kube.server} refused these credentials "
                              f"(HTTP {exc.status}): {exc.message}") from None
    return kube


def connect(settings: ClusterSettings, *, cancel: threading.Event | None = None) -> Kube:
    """A client for the settings' cluster: the kubeconfig file (or KUBECONFIG, ~/.kube/config), else
    the in-cluster service account. Nothing is sent until a collector asks."""
    from kubernetes import client, config
    from kubernetes.config.config_exception import ConfigException

    try:
        configuration = client.Configuration()
        if settings.kubeconfig or not _in_cluster():
            path = settings.kubeconfig or _default_kubeconfig()
            config.load_kube_config(config_file=path, context=settings.context,  # type: ignore[no-untyped-call]
                                    client_configuration=configuration)
            contexts, active = config.list_kube_config_contexts(config_file=path)  # type: ignore[no-untyped-call]
            chosen = next((c for c in contexts if c.get("name") == settings.context), active) if settings.context \
                else active
            namespace = ((chosen or {}).get("context") or {}).get("namespace") or "default"
        else:
            config.load_incluster_config(client_configuration=configuration)  # type: ignore[no-untyped-call]
            namespace = _in_cluster_namespace()
    except (ConfigException, OSError, ValueError, KeyError, TypeError) as exc:
        where = settings.kubeconfig or "the default kubeconfig"
        context = f" (context {settings.context!r})" if settings.context else ""
        raise KubeconfigError(f"cannot use {where}{context}: {str(exc).strip() or type(exc).__name__}") from None
    configuration.connection_pool_maxsize = POOL_SIZE
    configuration.retries = 0   # the run's retry policy decides, not the HTTP pool
    return Kube(client.ApiClient(configuration), settings, namespace, cancel=cancel)


def _default_kubeconfig() -> str:
    import os

    from kubernetes.config.kube_config import KUBE_CONFIG_DEFAULT_LOCATION

    first = os.environ.get("KUBECONFIG", "").split(os.pathsep)[0]
    return first or os.path.expanduser(KUBE_CONFIG_DEFAULT_LOCATION)


def _in_cluster() -> bool:
    import os

    return bool(os.environ.get("KUBERNETES_SERVICE_HOST")) and not os.environ.get("KUBECONFIG") and \
        not os.path.exists(_default_kubeconfig())


def _in_cluster_namespace() -> str:
    try:
        with open("/var/run/secrets/kubernetes.io/serviceaccount/namespace", encoding="utf-8") as handle:
            return handle.read().strip() or "default"
    except OSError:
        return "default"


def _sender(pool_manager: Any, server: str) -> Any:
    """`urlopen(method, target, ...)` to the server: its connection pool, looked up once; through a
    proxy, the manager, which needs the absolute URL."""
    import urllib3

    if isinstance(pool_manager, urllib3.ProxyManager):
        origin = server[: len(server) - len(_path_prefix(server))]
        return lambda method, target, **kwargs: pool_manager.urlopen(method, origin + target, **kwargs)
    return pool_manager.connection_from_url(server).urlopen


def _path_prefix(server: str) -> str:
    """The path the API is served under (`https://rancher/k8s/clusters/c-1`: `/k8s/clusters/c-1`)."""
    import urllib3

    return (urllib3.util.parse_url(server).path or "").rstrip("/")


def _query_value(value: Any) -> Any:
    return ("true" if value else "false") if isinstance(value, bool) else value


def _api_error(status: int, data: bytes) -> ApiError:
    """The server's Status message when the body is one, else the HTTP status line."""
    try:
        body = json.loads(data)
    except ValueError:
        body = None
    if isinstance(body, dict) and body.get("kind") == "Status":
        return ApiError(status, str(body.get("message") or f"HTTP {status}"), str(body.get("reason") or ""))
    text = data.decode("utf-8", errors="replace").strip()[:200]
    return ApiError(status, text or f"the server responded with HTTP {status}")


def _unreachable(server: str, exc: Exception) -> ClusterUnreachable:
    text = str(getattr(exc, "reason", None) or exc)
    detail = "connection refused" if "Connection refused" in text else text
    return ClusterUnreachable(f"cannot reach the Kubernetes API server at {server}: {detail}")
