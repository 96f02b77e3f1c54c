"""The run's preflight against an API server (a loopback HTTP server answering GET /version): an answer
that says "try later" fails the run as transient, as it does an upload; anything else is permanent."""
from __future__ import annotations

import pytest

from reconciler.base.errors import PERMANENT, TRANSIENT, error_class
from reconciler.collect.kube.client import ClusterSettings, ClusterUnreachable, KubeconfigError, open_cluster
from tests.delivery_fixtures import http_sink, sink  # noqa: F401

from ...fakes.kubeconfig import write_kubeconfig


@pytest.mark.parametrize("status, raised, expected", [
    (503, ClusterUnreachable, TRANSIENT), (429, ClusterUnreachable, TRANSIENT), (408, ClusterUnreachable, TRANSIENT),
    (425, ClusterUnreachable, TRANSIENT), (401, KubeconfigError, PERMANENT), (403, KubeconfigError, PERMANENT)])
def test_the_preflight_classes_an_error_status_as_uploads_do(sink, tmp_path, status, raised, expected):
    sink.respond(status)
    kubeconfig = write_kubeconfig(tmp_path / "kubeconfig", sink.url)

    with pytest.raises(raised) as caught:
        open_cluster(ClusterSettings(str(kubeconfig)))

    assert error_class(caught.value) == expected and f"HTTP {status}" in str(caught.value)
    assert [(r.method, r.path) for r in sink.requests] == [("GET", "/version")]
