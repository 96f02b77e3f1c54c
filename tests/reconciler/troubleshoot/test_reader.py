"""The one spec reader: a file parsed once for every stage of a run, one error type for every reader."""
from __future__ import annotations

from pathlib import Path

import pytest

from reconciler.analyze import load_analyzers, when_diagnostics
from reconciler.collect import spec as collect_spec
from reconciler.plan.spec_snapshots import reader
from reconciler.redact import RedactorSpecError, load_redactor_specs
from reconciler.troubleshoot.reader import SpecError, read_spec_file

BUNDLE = """\
apiVersion: troubleshoot.sh/v1beta2
kind: SupportBundle
spec:
  collectors: [{clusterInfo: {}}]
  hostCollectors: [{cpu: {}}]
  analyzers: [{clusterVersion: {outcomes: [{pass: {when: ">= 1.0.0"}}]}}]
  hostAnalyzers: [{cpu: {outcomes: [{pass: {when: "count >= 1"}}]}}]
---
apiVersion: v1
kind: ConfigMap
data:
  redact: |
    apiVersion: troubleshoot.sh/v1beta2
    kind: Redactor
    spec:
      redactors: [{name: r, removals: {values: [secret]}}]
"""


def test_the_stages_of_a_run_share_one_parse_of_each_file(tmp_path: Path) -> None:
    path = tmp_path / "spec.yaml"
    path.write_text(BUNDLE)
    read = reader(tmp_path / "state", {})
    collectors = collect_spec.load([str(path)], read=read)
    path.write_text("kind: [not yaml")   # edited on disk between two stages of one run
    analyzers = load_analyzers([str(path)], strict=False, read=read)
    redactors = load_redactor_specs([str(path)], read=read)
    assert [(c.kind, c.host) for c in collectors] == [("clusterInfo", False), ("cpu", True)]
    assert [(a.kind, a.host) for a in analyzers] == [("clusterVersion", False), ("cpu", True)]
    assert [r.name for r in redactors] == ["r"]


def test_one_document_holds_every_list_of_a_file(tmp_path: Path) -> None:
    path = tmp_path / "spec.yaml"
    path.write_text(BUNDLE)
    spec_file = read_spec_file(str(path))
    assert [(s.name, s.host) for s in spec_file.collectors] == [("collectors", False), ("hostCollectors", True)]
    assert [(s.name, s.host) for s in spec_file.analyzers] == [("analyzers", False), ("hostAnalyzers", True)]
    assert [d.kind for d in spec_file.redactors] == ["Redactor"]
    assert spec_file.kinds == {"SupportBundle", "Redactor"}


def test_every_reader_of_a_missing_spec_raises_the_one_error(tmp_path: Path) -> None:
    missing = str(tmp_path / "missing.yaml")
    for read in (lambda: collect_spec.load([missing]), lambda: load_analyzers([missing]),
                 lambda: when_diagnostics(missing), lambda: load_redactor_specs([missing])):
        with pytest.raises(SpecError, match="file not found") as caught:
            read()
        assert caught.value.exit_code == 2 and missing in caught.value.message
    assert issubclass(RedactorSpecError, SpecError)
