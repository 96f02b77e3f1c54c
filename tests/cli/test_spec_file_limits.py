"""Found by `make stress` (stress/hostile.py, stress/fuzz.py): a manifest naming /dev/zero (or any huge
file, or a FIFO) as a collect spec or redactor made `sbsched validate` read until memory ran out (a
MemoryError under a ulimit, the OOM killer without one) or block forever; a daemon run reading such a
spec would do the same. Spec files are now read only from regular files of at most 64 MiB."""
from __future__ import annotations

import os
import subprocess

import pytest

from reconciler.troubleshoot.reader import SpecError, check_file, read_spec_file
from reconciler.collect import spec as collect_spec
from reconciler.redact import RedactorSpecError, load_redactor_specs
from reconciler.troubleshoot import specfiles

from ..conftest import SBSCHED

SPEC = "apiVersion: troubleshoot.sh/v1beta2\nkind: SupportBundle\nmetadata: {name: s}\nspec: {collectors: []}\n"


def _manifest(tmp_path, spec_path: str):
    path = tmp_path / "schedules.yaml"
    path.write_text("apiVersion: sbsched/v1\nkind: ScheduleSet\nmetadata: {name: s}\nschedules:\n"
                    f"  - {{name: a, cron: '0 2 * * *', collect: {{specs: ['{spec_path}'], cluster: false}},\n"
                    f"     redact: {{redactors: ['{spec_path}']}}}}\n")
    return path


@pytest.mark.parametrize("special", ["/dev/zero", "fifo"])
def test_validate_refuses_a_device_or_fifo_as_a_spec_without_reading_it(tmp_path, special):
    if special == "fifo":
        special = str(tmp_path / "spec.fifo")
        os.mkfifo(special)
    proc = subprocess.run([SBSCHED, "validate", "-f", str(_manifest(tmp_path, special))], capture_output=True,
                          text=True, timeout=30)
    assert proc.returncode == 1, proc.stderr[-300:]
    assert (proc.stdout + proc.stderr).count("not a regular file") == 2
    assert "MemoryError" not in proc.stderr and "Traceback" not in proc.stderr


def test_every_spec_reader_refuses_a_spec_over_the_size_limit(tmp_path, monkeypatch):
    big = tmp_path / "big.yaml"
    big.write_text(SPEC + "#" * 2000 + "\n")
    monkeypatch.setattr(specfiles, "MAX_SPEC_BYTES", 1024)
    assert "over the" in check_file(str(big), specfiles.COLLECT_KINDS)
    with pytest.raises(SpecError, match="over the"):
        collect_spec.load([str(big)])
    with pytest.raises(SpecError, match="over the"):
        read_spec_file(str(big))
    with pytest.raises(RedactorSpecError, match="over the"):
        load_redactor_specs([str(big)])


def test_a_spec_under_the_limit_and_a_directory_read_as_before(tmp_path):
    ok = tmp_path / "ok.yaml"
    ok.write_text(SPEC)
    assert check_file(str(ok), specfiles.COLLECT_KINDS) is None
    with pytest.raises(SpecError, match="is a directory"):
        read_spec_file(str(tmp_path))
