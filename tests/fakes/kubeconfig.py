"""Pointing a Kubernetes client somewhere: a kubeconfig for a server (the fake API server, say), and an
address where nothing listens, for the unreachable-cluster paths."""
from __future__ import annotations

import os
import socket
from pathlib import Path

import yaml


def write_kubeconfig(path: Path, server_url: str, *, context: str = "fake", namespace: str = "default",
                     token: str = "fake-token") -> Path:
    """Write a kubeconfig with one cluster, user (a bearer token) and context, current; mode 0600, as
    kubectl writes them (it holds a credential)."""
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": context, "cluster": {"server": server_url}}],
        "users": [{"name": context, "user": {"token": token}}],
        "contexts": [{"name": context,
                      "context": {"cluster": context, "user": context, "namespace": namespace}}],
        "current-context": context,
    }
    path = Path(path)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(descriptor, 0o600)  # also when the file was already there, with other modes
    with os.fdopen(descriptor, "w", encoding="utf-8") as file:
        yaml.safe_dump(config, file, sort_keys=False)
    return path


def unreachable_url() -> str:
    """`http://127.0.0.1:PORT` with nothing listening: a port the kernel just handed out, then freed."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}"
