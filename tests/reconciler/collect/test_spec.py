"""Loading troubleshoot specs: every fixture loads; kinds map to host or in-cluster collectors."""
from __future__ import annotations

from pathlib import Path

import pytest

from reconciler.collect import spec
from reconciler.troubleshoot.reader import SpecError

SPECS = Path(__file__).parents[2] / "fixtures" / "specs"


def test_support_bundle_specs_give_cluster_and_host_collectors(tmp_path):
    path = tmp_path / "sb.yaml"
    path.write_text("apiVersion: troubleshoot.sh/v1beta2\nkind: SupportBundle\nmetadata: {name: x}\nspec:\n"
                    "  collectors: [{clusterInfo: {}}, {logs: {name: app}}]\n  hostCollectors: [{cpu: {}}]\n"
                    "---\napiVersion: troubleshoot.sh/v1beta3\nkind: HostCollector\nspec:\n  collectors: [{memory: {}}]\n")
    found = spec.load([str(path)], inline_host_collectors=[{"run": {"collectorName": "up", "command": "uptime"}}])
    assert [(c.kind, c.host, c.name) for c in found] == [
        ("clusterInfo", False, "clusterInfo"), ("logs", False, "logs"), ("cpu", True, "cpu"), ("memory", True, "memory"),
        ("run", True, "up")]
    assert found[-1].source == "inline"


def test_every_fixture_spec_loads():
    for path in sorted(SPECS.rglob("*.yaml")):
        spec.load([str(path)])


def test_unreadable_or_broken_specs_are_one_line_errors(tmp_path):
    with pytest.raises(SpecError, match="spec file not found"):
        spec.load([str(tmp_path / "missing.yaml")])
    (tmp_path / "bad.yaml").write_text("a: [\n")
    with pytest.raises(SpecError, match="is not valid YAML"):
        spec.load([str(tmp_path / "bad.yaml")])


def test_a_malformed_entry_is_kept_and_reported_by_its_shape():
    found = spec.entries([{"cpu": {}, "memory": {}}, "text"], host=True, source="x")
    assert [c.kind for c in found] == ["<malformed>", "<malformed>"]
