"""Found by `make stress` (stress/fuzz.py, Hypothesis): spec documents shaped in ways troubleshoot never
writes must fail as the project's own errors (or be ignored), never as a TypeError or the like."""
from __future__ import annotations

import pytest

from reconciler.analyze import load_analyzers
from reconciler.collect import spec as collect_spec
from reconciler.troubleshoot.reader import SpecError


def test_a_spec_whose_kind_is_not_a_string_is_not_a_spec(tmp_path):
    """`kind: []` raised TypeError (unhashable) from the collector and analyzer loaders: at run time (the
    spec edited after apply) that failed the run as a transient error, retried in vain."""
    path = tmp_path / "spec.yaml"
    path.write_text("apiVersion: troubleshoot.sh/v1beta2\nkind: []\nmetadata: null\nspec: {collectors: [{cpu: {}}]}\n"
                    "---\napiVersion: troubleshoot.sh/v1beta2\nkind: {SupportBundle: 1}\nspec: {}\n")
    assert collect_spec.load([str(path)]) == []
    assert load_analyzers([str(path)], strict=False) == []


def test_a_collectors_value_that_is_not_a_list_is_one_malformed_entry(tmp_path):
    """`collectors: 1` raised TypeError ('int' object is not iterable); a string was split into one
    malformed collector per character."""
    path = tmp_path / "spec.yaml"
    path.write_text("apiVersion: troubleshoot.sh/v1beta2\nkind: SupportBundle\nspec: {collectors: 1, hostCollectors: cpu}\n")
    found = collect_spec.load([str(path)])
    assert [(c.kind, c.host) for c in found] == [("<malformed>", False), ("<malformed>", True)]


def test_a_spec_path_with_a_nul_character_is_reported_not_raised(tmp_path):
    """`specs: ["\\0"]` made validate raise ValueError (embedded null byte) from open()."""
    from reconciler.manifest.load import load_manifest
    from reconciler.troubleshoot import specfiles
    from reconciler.troubleshoot.reader import check_file

    manifest = tmp_path / "schedules.yaml"
    manifest.write_text('apiVersion: sbsched/v1\nkind: ScheduleSet\nmetadata: {name: g}\nschedules:\n'
                        '  - {name: g, cron: "0 2 * * *", collect: {specs: ["a\\0b"]}}\n')
    result = load_manifest(str(manifest))
    assert any("NUL character" in d.message for d in result.diagnostics)
    with pytest.raises(SpecError, match="NUL"):
        collect_spec.load([str(tmp_path / "a\0b")])
    assert "NUL" in check_file("a\0b", specfiles.COLLECT_KINDS)
