"""A fake Kubernetes API server for tests: a real support bundle's cluster, served on loopback the way
`sbctl serve` serves it, to the real `kubernetes` client.

It answers discovery (`/version`, `/api`, `/apis`, each group-version), lists (one namespace or all,
label and field selectors, limit/continue paging), gets, creates and deletes of any kind, custom
resources in every version their CRD serves, pod logs (tail, byte limit, since, previous, chunked
streaming), pods that run at once to completion (`runPod`), exec over WebSocket (`v4.channel.k8s.io`),
the self-subject access and rules reviews, and server-side apply (`PATCH` with
`application/apply-patch+yaml`, `fieldManager`, `dryRun=All`; simplified, see `apply`); not watch,
update or other patch types (405, 415). What a test sets
(objects, 403s, logs, files, runners, latency) lasts until `reset()`; errors are the real `Status`
objects with the real wording.

    with FakeKubeApi.from_archive(bundle) as api:
        api.forbid("secrets")
        client = kubernetes.config.new_client_from_config(config_file=str(write_kubeconfig(path, api.url)))

For scale (issue 23), `synthesize(ClusterSize())` adds a synthetic cluster of 20,000 pods made on request
(`synthetic`), `max_in_flight` answers requests beyond it 429 with Retry-After as API Priority and
Fairness does, `expire_continue()` answers the next continue token 410 Gone, and `received` dates
every request.

Modules: `bundle` reads the bundle, `store` holds discovery and objects, `cluster` answers requests,
`server` is the HTTP side, with `apply`, `logs`, `pods` (runner, exec), `query` (selectors, paging), `rbac`,
`websocket` and `errors` beside them.
"""
from .cluster import DEFAULT_USER
from .logs import LogSource
from .pods import ExecHandler, ExecResult, PodRunner, echo_runner
from .server import FakeKubeApi, Received, RecordedRequest
from .synthetic import ClusterSize

__all__ = ["ClusterSize", "DEFAULT_USER", "ExecHandler", "ExecResult", "FakeKubeApi", "LogSource", "PodRunner",
           "Received", "RecordedRequest", "echo_runner"]
