"""Every real host spec in tests/fixtures/specs/host: each collector succeeds, is skipped, or fails
with a message, never with a programming error; what succeeded wrote troubleshoot's shape."""
from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from reconciler.collect import Skipped
from reconciler.collect.host import HOST_COLLECTORS, network

from ...conftest import FIXTURES
from .test_host_shapes import SHAPES, assert_shape, collect, load

SPECS = sorted((FIXTURES / "specs" / "host").glob("*.yaml"))
BUGS = (TypeError, AttributeError, KeyError, IndexError, NameError, UnboundLocalError, ZeroDivisionError,
        AssertionError, RecursionError)


def entries(path: Path) -> list[tuple[str, dict]]:
    spec = yaml.safe_load(path.read_text())["spec"]
    items = spec.get("hostCollectors") or spec.get("collectors") or []
    return [next(iter(item.items())) for item in items]


def test_the_fixture_specs_are_here():
    assert len(SPECS) >= 15 and all(entries(path) for path in SPECS)


@pytest.mark.parametrize("path", SPECS, ids=[path.stem for path in SPECS])
def test_each_collector_of_a_real_spec_succeeds_skips_or_fails_with_a_message(tmp_path, monkeypatch, path):
    monkeypatch.setattr(network, "local_ipv4", lambda: "127.0.0.1")   # tests send traffic to 127.0.0.1 only
    for index, (kind, params) in enumerate(entries(path)):
        if kind not in HOST_COLLECTORS:
            continue   # the runner records it as skipped
        if kind == "dns":
            continue   # it asks resolv.conf's nameservers, off this host; test_host_dns drives it on 127.0.0.1
        root = tmp_path / str(index)
        try:
            collect(kind, root, ctx_timeout=10, **(params or {}))
        except Skipped as exc:
            assert str(exc), kind
            continue
        except BUGS:
            raise
        except Exception as exc:   # a failure the runner records; it must say what went wrong
            assert str(exc).strip(), f"{kind} failed without a message: {exc!r}"
            continue
        assert any(p.is_file() for p in root.rglob("*")), f"{kind} succeeded and wrote nothing"
        for file in shaped(kind, root):
            assert_shape(load(root, str(file.relative_to(root))), SHAPES[kind]["shape"])


def shaped(kind: str, root: Path) -> list[Path]:
    """The files a kind writes in its reference shape (run and journald: the -info.json)."""
    if kind in ("copy", "certificate"):
        return []
    found = sorted(root.rglob("*.json"))
    return [p for p in found if p.name.endswith("-info.json")] if kind in ("run", "journald") else found
