"""GitOps fidelity through the CLI: what is applied is what runs (spec files are snapshotted), `diff` sees a
change inside a referenced spec, and the same manifest checked out elsewhere is no change."""
from __future__ import annotations

import json
import shutil
import tarfile
from pathlib import Path

APP_SPEC = """\
apiVersion: troubleshoot.sh/v1beta2
kind: SupportBundle
metadata: {name: app}
spec:
  hostCollectors:
    - run: {collectorName: marker, command: sh, args: ["-c", "echo applied-version-1"]}
"""
MANIFEST = """\
apiVersion: sbsched/v1
kind: ScheduleSet
metadata: {name: production}
defaults:
  collect: {cluster: false}
schedules:
  - name: nightly
    cron: "0 2 * * *"
    collect: {specs: [specs/app.yaml]}
    redact: {redactors: [specs/redactor.yaml]}
"""
REDACTOR = """\
apiVersion: troubleshoot.sh/v1beta2
kind: Redactor
metadata: {name: static}
spec:
  redactors:
    - name: static-text
      removals: {values: [flamingo]}
"""


def checkout(root: Path, *, app: str = APP_SPEC, manifest: str = MANIFEST) -> Path:
    """A repository checkout: schedules.yaml and the specs it references; returns the manifest's path."""
    (root / "specs").mkdir(parents=True)
    (root / "specs" / "app.yaml").write_text(app)
    (root / "specs" / "redactor.yaml").write_text(REDACTOR)
    (root / "schedules.yaml").write_text(manifest)
    return root / "schedules.yaml"


def bundle_text(record: dict) -> str:
    with tarfile.open(record["bundle"]["path"]) as tar:
        return "\n".join(tar.extractfile(m).read().decode("utf-8", "replace") for m in tar.getmembers() if m.isfile())


def test_a_collector_added_to_a_referenced_spec_is_an_update_that_names_it(cli, tmp_path):
    manifest = checkout(tmp_path / "repo")
    assert cli("apply", "-f", str(manifest)).code == 0
    with open(manifest.parent / "specs" / "app.yaml", "a") as spec:
        spec.write("  collectors:\n    - secret: {name: db-password, namespace: prod, includeValue: true}\n")
    text = cli("diff", "-f", str(manifest))
    assert text.code == 1, text.out
    assert "~ nightly: update" in text.out
    assert 'specFiles[specs/app.yaml].collectors[secret/db-password]: null -> {"name": "db-password"' in text.out
    plan = json.loads(cli("diff", "-f", str(manifest), "-o", "json").out)
    (change,) = plan["changes"]
    assert change["action"] == "update"
    added = next(f for f in change["fields"] if f["path"] == "specFiles[specs/app.yaml].collectors[secret/db-password]")
    assert added == {"path": "specFiles[specs/app.yaml].collectors[secret/db-password]", "before": None,
                     "after": {"name": "db-password", "namespace": "prod", "includeValue": True}}
    digest = next(f for f in change["fields"] if f["path"] == "specFiles[specs/app.yaml]")
    assert digest["before"] != digest["after"] and len(digest["after"]) == 64


def test_the_same_manifest_and_specs_at_another_path_are_no_change(cli, tmp_path):
    assert cli("apply", "-f", str(checkout(tmp_path / "srv" / "a"))).code == 0
    elsewhere = checkout(tmp_path / "home" / "ci" / "b")
    result = cli("diff", "-f", str(elsewhere))
    assert (result.code, result.out) == (0, "No changes: set 'production' is up to date (1 schedules).\n")


def test_runs_use_the_applied_snapshot_even_after_the_checkout_is_edited_and_then_deleted(cli, tmp_path):
    manifest = checkout(tmp_path / "clone")
    assert cli("apply", "-f", str(manifest)).code == 0
    (manifest.parent / "specs" / "app.yaml").write_text(APP_SPEC.replace("applied-version-1", "edited-on-disk"))
    edited = cli("run", "nightly", "-o", "json")
    assert edited.code == 0, edited.err
    assert "applied-version-1" in bundle_text(json.loads(edited.out))
    shutil.rmtree(manifest.parent)
    gone = cli("run", "nightly", "-o", "json")
    assert gone.code == 0, gone.err
    record = json.loads(gone.out)
    assert record["status"] == "completed" and "applied-version-1" in bundle_text(record)
