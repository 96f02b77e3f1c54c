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

REDACTOR = """\
apiVersion: troubleshoot.sh/v1beta2
kind: Redactor
spec:
  redactors: [{name: r, removals: {values: [secret]}}]
"""


def _manifest_naming(tmp_path: Path, spec: Path, redactor: Path) -> str:
    path = tmp_path / "schedules.yaml"
    path.write_text("apiVersion: sbsched/v1\nkind: ScheduleSet\nmetadata:\n  name: x\nschedules:\n"
                    f"- name: a\n  cron: '@daily'\n  collect:\n    specs: [{spec}]\n"
                    f"  redact:\n    redactors: [{redactor}]\n")
    return str(path)


def test_validate_parses_each_spec_file_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The kind check and the checks inside a file (analyzer `when`s, Redactor fields) share one parse."""
    import yaml

    from reconciler.manifest.load import load_manifest

    spec, redactor = tmp_path / "spec.yaml", tmp_path / "redactor.yaml"
    spec.write_text(BUNDLE.split("---")[0])
    redactor.write_text(REDACTOR)
    texts = {spec.read_text(): "spec", redactor.read_text(): "redactor"}
    parsed: list[str] = []
    for name in ("compose_all", "load_all"):
        original = getattr(yaml, name)

        def counting(stream: object, *args: object, _original: object = original, **kwargs: object) -> object:
            if isinstance(stream, str) and stream in texts:
                parsed.append(texts[stream])
            return _original(stream, *args, **kwargs)   # type: ignore[operator]

        monkeypatch.setattr(yaml, name, counting)
    result = load_manifest(_manifest_naming(tmp_path, spec, redactor))
    assert result.valid, [d.format() for d in result.diagnostics]
    assert sorted(parsed) == ["redactor", "spec"]


def test_validate_words_an_unusable_spec_file_as_before(tmp_path: Path) -> None:
    from reconciler.manifest.load import load_manifest
    from reconciler.troubleshoot.specfiles import shown

    (tmp_path / "dir.yaml").mkdir()
    (tmp_path / "bad.yaml").write_text("kind: [not yaml")
    (tmp_path / "latin1.yaml").write_bytes(b"kind: \xff\n")
    (tmp_path / "other.yaml").write_text(REDACTOR)
    cases = {"missing.yaml": "file not found: ", "dir.yaml": "cannot read {}: Is a directory",
             "bad.yaml": "{} is not valid YAML", "latin1.yaml": "cannot read {}: 'utf-8' codec can't decode",
             "other.yaml": "{} is not a troubleshoot spec: expected apiVersion troubleshoot.sh/v1beta2 with kind "
                           "SupportBundle or HostCollector or Collector or Preflight or HostPreflight or Analyzer; "
                           "found kind Redactor"}
    for name, expected in cases.items():
        spec = tmp_path / name
        result = load_manifest(_manifest_naming(tmp_path, spec, tmp_path / "other.yaml"))
        messages = [d.message for d in result.diagnostics]
        assert any(m.startswith(expected.format(shown(str(spec)))) for m in messages), (name, messages)


def test_export_reads_spec_files_through_the_one_reader(tmp_path: Path) -> None:
    """What export gathers from disk fails as every other reader of a spec file does: one SpecError."""
    from reconciler.k8s.inputs import gather
    from reconciler.manifest.load import load_manifest

    spec, redactor = tmp_path / "spec.yaml", tmp_path / "redactor.yaml"
    spec.write_text(BUNDLE.split("---")[0])
    redactor.write_text(REDACTOR)
    manifest = load_manifest(_manifest_naming(tmp_path, spec, redactor)).manifest
    assert manifest is not None
    assert gather(manifest, namespace="default")["a"].files[str(spec)] == spec.read_text()
    redactor.unlink()
    redactor.mkdir()   # replaced between validation and export
    with pytest.raises(SpecError, match="spec .*redactor.yaml is a directory"):
        gather(manifest, namespace="default")
