"""GitOps fidelity through the CLI: what is applied is what runs (spec files are snapshotted), `diff` sees a
change inside a referenced spec, and the same manifest checked out elsewhere is no change."""
from __future__ import annotations

import hashlib
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
    assert (f"    specFiles[specs/app.yaml]: sha256:{hashlib.sha256(APP_SPEC.encode()).hexdigest()[:12]} -> sha256:"
            in text.out)
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


def snapshots(state_dir: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in (state_dir / "spec-snapshots").iterdir()}


def test_snapshots_are_private_content_addressed_files_and_go_when_nothing_references_them(cli, tmp_path, state_dir):
    manifest = checkout(tmp_path / "repo")
    assert cli("apply", "-f", str(manifest)).code == 0
    stored = snapshots(state_dir)
    assert sorted(stored.values()) == sorted([APP_SPEC.encode(), REDACTOR.encode()])
    assert all(name == hashlib.sha256(data).hexdigest() for name, data in stored.items())
    assert (state_dir / "spec-snapshots").stat().st_mode & 0o777 == 0o700
    assert {(p.stat().st_mode & 0o777) for p in (state_dir / "spec-snapshots").iterdir()} == {0o600}
    strict = cli("--strict-permissions", "list")   # the layout knows them: nothing to refuse
    assert strict.code == 0 and not strict.err
    spec = json.loads((state_dir / "state.json").read_text())["schedules"]["nightly"]["spec"]
    assert spec["collect"]["specs"] == ["specs/app.yaml"] and spec["redact"]["redactors"] == ["specs/redactor.yaml"]
    assert spec["specFiles"] == {"specs/app.yaml": hashlib.sha256(APP_SPEC.encode()).hexdigest(),
                                 "specs/redactor.yaml": hashlib.sha256(REDACTOR.encode()).hexdigest()}
    (manifest.parent / "specs" / "app.yaml").write_text(APP_SPEC.replace("version-1", "version-2"))
    assert cli("apply", "-f", str(manifest)).code == 0   # the old snapshot stays: state.json.backup names it
    assert len(snapshots(state_dir)) == 3
    manifest.write_text(MANIFEST.replace("    redact: {redactors: [specs/redactor.yaml]}\n", ""))
    assert cli("apply", "-f", str(manifest)).code == 0   # now neither the state nor its backup names version 1
    assert sorted(snapshots(state_dir).values()) == sorted([APP_SPEC.replace("version-1", "version-2").encode(),
                                                            REDACTOR.encode()])
    debris = state_dir / "spec-snapshots" / ("0" * 64)   # as a crash between snapshot and state leaves one
    debris.write_bytes(b"left by a crash")
    debris.chmod(0o600)
    (state_dir / "spec-snapshots" / "notes.txt").write_text("not sbsched's")
    dry = json.loads(cli("cleanup", "--dry-run", "-o", "json").out)
    assert dry["summary"]["specSnapshots"] == 1 and debris.exists()
    result = cli("cleanup")
    assert result.code == 0 and "Removed 1 spec snapshot(s) no schedule references." in result.out
    assert not debris.exists() and (state_dir / "spec-snapshots" / "notes.txt").exists()
    assert len(snapshots(state_dir)) == 3   # the redactor's stays while state.json.backup names it


def test_status_shows_drift_when_the_file_applied_from_no_longer_matches(cli, tmp_path):
    manifest = checkout(tmp_path / "repo")
    assert cli("apply", "-f", str(manifest)).code == 0
    clean = cli("status", "nightly", "-o", "json")
    assert [(f["path"], f["drift"]) for f in json.loads(clean.out)["specFiles"]] == [("specs/app.yaml", "none"),
                                                                                      ("specs/redactor.yaml", "none")]
    (manifest.parent / "specs" / "app.yaml").write_text(APP_SPEC.replace("version-1", "version-2"))
    (manifest.parent / "specs" / "redactor.yaml").unlink()
    view = json.loads(cli("status", "nightly", "-o", "json").out)
    assert [(f["path"], f["drift"]) for f in view["specFiles"]] == [("specs/app.yaml", "changed"),
                                                                     ("specs/redactor.yaml", "missing")]
    assert view["specFiles"][0]["file"] == str(manifest.parent / "specs" / "app.yaml")
    table = cli("status", "nightly").out
    assert f"specs/app.yaml  sha256 {hashlib.sha256(APP_SPEC.encode()).hexdigest()[:12]}  DRIFT: " \
           f"{manifest.parent / 'specs' / 'app.yaml'} changed since it was applied" in table
    assert f"DRIFT: {manifest.parent / 'specs' / 'redactor.yaml'} is gone" in table


def test_a_spec_file_outside_the_manifests_tree_keeps_its_absolute_path(cli, tmp_path, state_dir):
    shared = tmp_path / "etc-sbsched" / "app.yaml"
    shared.parent.mkdir()
    shared.write_text(APP_SPEC)
    manifest = checkout(tmp_path / "repo", manifest=MANIFEST.replace("specs: [specs/app.yaml]",
                                                                     "specs: [../etc-sbsched/app.yaml]"))
    assert cli("apply", "-f", str(manifest)).code == 0
    spec = json.loads((state_dir / "state.json").read_text())["schedules"]["nightly"]["spec"]
    assert spec["collect"]["specs"] == ["../etc-sbsched/app.yaml"]   # shares tmp_path with the manifest: relative
    rooted = checkout(tmp_path / "other", manifest=MANIFEST.replace("specs: [specs/app.yaml]", "specs: [/proc/self/"
                                                                    "root" + str(shared) + "]"))
    assert cli("apply", "-f", str(rooted)).code == 0
    spec = json.loads((state_dir / "state.json").read_text())["schedules"]["nightly"]["spec"]
    assert spec["collect"]["specs"] == ["/proc/self/root" + str(shared)]   # shares only /: kept absolute


def legacy(state_dir: Path, manifest: Path) -> None:
    """Rewrite the state as sbsched wrote it before spec snapshots: absolute spec paths, no specFiles."""
    state = json.loads((state_dir / "state.json").read_text())
    for record in state["schedules"].values():
        spec = record["spec"]
        spec.pop("specFiles")
        spec["collect"]["specs"] = [str(manifest.parent / p) for p in spec["collect"]["specs"]]
        spec["redact"]["redactors"] = [str(manifest.parent / p) for p in spec["redact"]["redactors"]]
        record["metadata"].pop("manifest")
    (state_dir / "state.json").write_text(json.dumps(state))
    shutil.rmtree(state_dir / "spec-snapshots")


def test_a_state_written_before_snapshots_runs_as_before_and_the_next_apply_snapshots_it(cli, tmp_path, state_dir):
    manifest = checkout(tmp_path / "repo")
    assert cli("apply", "-f", str(manifest)).code == 0
    legacy(state_dir, manifest)
    ran = cli("run", "nightly", "-o", "json")
    assert ran.code == 0 and "applied-version-1" in bundle_text(json.loads(ran.out))   # read from disk, as before
    diffed = cli("diff", "-f", str(manifest))
    assert diffed.code == 0, diffed.out   # the same files: nothing to review
    assert "Apply will snapshot the spec files of 1 unchanged schedule(s) applied before spec snapshots: nightly." \
        in diffed.out
    assert not (state_dir / "spec-snapshots").exists()   # diff writes nothing
    applied = cli("apply", "-f", str(manifest))
    assert applied.code == 0 and "Snapshotted the spec files of 1 unchanged schedule(s)" in applied.out
    spec = json.loads((state_dir / "state.json").read_text())["schedules"]["nightly"]["spec"]
    assert spec["collect"]["specs"] == ["specs/app.yaml"] and len(spec["specFiles"]) == 2
    assert len(snapshots(state_dir)) == 2
    audit = json.loads((state_dir / "logs" / "audit.log").read_text().splitlines()[-1])
    assert audit["upgraded"] == ["nightly"] and audit["summary"]["no-op"] == 1
    assert cli("apply", "-f", str(manifest)).out.startswith("No changes")   # upgraded once


def test_upgrading_names_a_file_that_is_gone_and_the_apply_snapshots_the_manifests_one(cli, tmp_path, state_dir):
    old = checkout(tmp_path / "old")
    assert cli("apply", "-f", str(old)).code == 0
    legacy(state_dir, old)
    shutil.rmtree(old.parent)
    new = checkout(tmp_path / "new")
    diffed = cli("diff", "-f", str(new))
    assert diffed.code == 1
    assert (f"sbsched: warning: nightly: {old.parent / 'specs' / 'app.yaml'}, applied before spec snapshots, "
            "cannot be read (No such file or directory): what changed in it cannot be shown") in diffed.err
    assert '    collect.specs[0]: "../old/specs/app.yaml" -> "specs/app.yaml"\n' in diffed.out
    assert "    specFiles[specs/app.yaml]: null -> sha256:" in diffed.out
    assert json.loads((state_dir / "state.json").read_text())["schedules"]["nightly"]["spec"]["collect"]["specs"] \
        == [str(old.parent / "specs" / "app.yaml")]   # until it is applied, it stays as it was
    assert cli("apply", "-f", str(new)).code == 0
    assert cli("diff", "-f", str(new)).code == 0
    assert "applied-version-1" in bundle_text(json.loads(cli("run", "nightly", "-o", "json").out))
