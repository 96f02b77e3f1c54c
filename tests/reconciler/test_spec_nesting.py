"""Found by `make stress` (stress/hostile.py): troubleshoot spec files were read with PyYAML's plain
C loader, whose composer recurses in C, so a spec nested ~30,000+ levels deep crashed `sbsched validate`
(and would crash a daemon run) with SIGSEGV; the collector loader (pure-Python safe_load_all) failed a
2,000-deep spec with a RecursionError, recorded as a transient error and retried. Every spec reader and
the bundle-file reader now use yamlio.SafeLoader, which refuses nesting past SPEC_MAX_DEPTH as bad YAML."""
from __future__ import annotations

import subprocess

import pytest
import yaml

from reconciler.analyze.bundle_files import load_yaml
from reconciler.troubleshoot.reader import SpecError, read_spec_file
from reconciler.base import yamlio
from reconciler.collect import spec as collect_spec
from reconciler.redact import RedactorSpecError, load_redactor_specs

from ..conftest import SBSCHED

TOO_DEEP = yamlio.SPEC_MAX_DEPTH + 1_000


def _deep_spec(kind: str, depth: int) -> str:
    return (f"apiVersion: troubleshoot.sh/v1beta2\nkind: {kind}\nmetadata: {{name: deep}}\n"
            f"spec:\n  collectors: {'[' * depth}{']' * depth}\n")


def test_validate_refuses_a_spec_nested_100000_deep_without_crashing(tmp_path):
    (tmp_path / "deep.yaml").write_text(_deep_spec("SupportBundle", 100_000))
    manifest = tmp_path / "schedules.yaml"
    manifest.write_text("apiVersion: sbsched/v1\nkind: ScheduleSet\nmetadata: {name: s}\nschedules:\n"
                        "  - name: a\n    cron: '0 2 * * *'\n    collect: {specs: [deep.yaml], cluster: false}\n"
                        "    redact: {redactors: [deep.yaml]}\n")
    proc = subprocess.run([SBSCHED, "validate", "-f", str(manifest)], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 1, proc.stderr[-500:]
    assert (proc.stdout + proc.stderr).count("is not valid YAML") == 2
    assert "Traceback" not in proc.stderr


def test_specs_within_the_limit_still_load(tmp_path):
    path = tmp_path / "ok.yaml"
    path.write_text(_deep_spec("SupportBundle", 50))
    assert collect_spec.load([str(path)]) is not None
    assert yaml.load(path.read_text(), Loader=yamlio.SafeLoader)["kind"] == "SupportBundle"


def test_every_spec_reader_refuses_too_deep_nesting_with_its_own_error(tmp_path):
    bundle_spec, redactor = tmp_path / "bundle.yaml", tmp_path / "redactor.yaml"
    bundle_spec.write_text(_deep_spec("SupportBundle", TOO_DEEP))
    redactor.write_text(_deep_spec("Redactor", TOO_DEEP).replace("collectors", "redactors"))
    with pytest.raises(SpecError, match="nesting deeper than"):
        collect_spec.load([str(bundle_spec)])   # was RecursionError: a transient failure, retried
    with pytest.raises(SpecError, match="nesting deeper than"):
        read_spec_file(str(bundle_spec))
    with pytest.raises(RedactorSpecError, match="nesting deeper than"):
        load_redactor_specs([str(redactor)])
    with pytest.raises(yaml.YAMLError, match="nesting deeper than"):
        load_yaml("[" * TOO_DEEP + "]" * TOO_DEEP)
