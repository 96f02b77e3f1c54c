"""Fixtures for tests that talk to Kubernetes: one fake API server for the session, serving the k3s
baseline bundle, set back to the bundle's content after each test that uses it."""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.fakes.kube_api import FakeKubeApi
from tests.fakes.kubeconfig import write_kubeconfig

BASELINE_BUNDLE = Path(__file__).parent / "fixtures" / "troubleshoot" / "baseline-k3s-1.31.tar.gz"


@pytest.fixture(scope="session")
def kube_server() -> Iterator[FakeKubeApi]:
    """The session's fake API server, started; use `kube` in tests, which resets it afterwards."""
    with FakeKubeApi.from_archive(BASELINE_BUNDLE) as server:
        yield server


@pytest.fixture
def kube(kube_server: FakeKubeApi) -> Iterator[FakeKubeApi]:
    """The fake API server, for this test to configure: objects, 403s, logs, files, latency and the
    request log go back to the bundle's state when the test ends."""
    yield kube_server
    kube_server.reset()


@pytest.fixture
def kubeconfig(kube: FakeKubeApi, tmp_path: Path) -> Path:
    """A kubeconfig (context `fake`, namespace `default`) for the fake API server."""
    return write_kubeconfig(tmp_path / "kubeconfig", kube.url)
