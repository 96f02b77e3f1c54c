"""Saved plans: `diff --out plan.json` writes the plan, `apply plan.json` applies exactly that plan or refuses.

A saved plan is `diff -o json`'s document, URL credentials masked as wherever a plan is shown, which
carries what it was made against: the state's `lineage`, `serial` and `basis` (the digest of every
schedule's set and spec), and its `inputs`, the sha256 of the manifest's text and of every spec file it
references. `apply plan.json` refuses, exit 1, naming what moved, when
- an input on disk no longer has its recorded digest (the manifest is looked for at its recorded path,
  relative to the working directory, or at `-f`; spec files relative to the manifest), or is gone;
- the state's lineage is another one (another state dir, or one made anew);
- the state's schedules changed (its basis): an apply, an edit or a delete since the plan was made. A run
  moves the serial too (its status writes) but not the basis: a daemon's runs would otherwise make every
  plan stale within minutes, and they change nothing a plan is about;
- the plan made under the lock differs from the saved one (a schedule named for each difference).
What it applies is the plan made under the lock from the verified inputs, which is the saved one.
"""
from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Mapping

from ..base.documents import decode
from ..base.errors import ManifestError, SbschedError
from ..store.atomic import atomic_write
from ..manifest.normalize import ScheduleDefaults, ScheduleSet
from ..base.masking import mask_data
from .plan import FILES, Plan

MAX_PLAN_BYTES = 256 * 1024 * 1024
HINT = "make the plan again (`sbsched diff -f MANIFEST --out PLAN`), review it, and apply that one"


class StalePlan(SbschedError):
    """The saved plan is not what applying would do now: refused, exit 1 (the answer is "not clean")."""

    exit_code = 1


class PlanFileError(SbschedError):
    """The file is not a saved plan."""


@dataclass(frozen=True)
class SavedPlan:
    path: str
    document: Mapping[str, Any]

    @property
    def manifest(self) -> str:
        return str(self.document["inputs"]["manifest"]["path"])


def save(path: str, plan: Plan) -> None:
    """Write the plan (0600, atomically) as `apply PLAN` reads it."""
    data = json.dumps(shown(plan), indent=2, ensure_ascii=False) + "\n"
    try:
        atomic_write(Path(path), data.encode("utf-8"))
    except OSError as exc:
        raise SbschedError(f"--out {path}: cannot write the plan: {exc.strerror or exc}") from None


def shown(plan: Plan) -> dict[str, Any]:
    """The plan as it is printed and saved: JSON values, URL credentials masked."""
    return json.loads(json.dumps(mask_data(plan.to_json())))  # type: ignore[no-any-return]


def load(path: str) -> SavedPlan:
    """The saved plan at `path`; PlanFileError (exit 2) for anything that is not one."""
    try:
        with open(path, "rb") as handle:
            raw = handle.read(MAX_PLAN_BYTES + 1)
    except FileNotFoundError:
        raise PlanFileError(f"{path}: no such file") from None
    except OSError as exc:
        raise PlanFileError(f"{path}: cannot read: {exc.strerror or exc}") from None
    document = decode(raw, limit=MAX_PLAN_BYTES, what=path, kind="saved plan", problem=_shape_problem,
                      error=PlanFileError, hint="`sbsched diff -f MANIFEST --out PLAN` writes one")
    return SavedPlan(path, document)


def _shape_problem(document: Any) -> str | None:
    if not isinstance(document, dict):
        return "not a JSON object"
    version = str(document.get("format_version", ""))
    if version.split(".")[0] != "1" or version == "1.0":
        return f"format_version {version or 'missing'}: this sbsched reads 1.1 and later 1.x plans"
    inputs = document.get("inputs")
    inputs = inputs if isinstance(inputs, dict) else {}
    manifest = inputs.get("manifest")
    if not (isinstance(manifest, dict) and isinstance(manifest.get("path"), str) and manifest["path"]
            and isinstance(manifest.get("sha256"), str) and isinstance(inputs.get(FILES), dict)):
        return "no inputs: made by an older sbsched, or against a cluster"
    if not (isinstance(document.get("set"), str) and isinstance(document.get("changes"), list)
            and isinstance(document.get("serial"), int) and isinstance(document.get("basis"), str)
            and (document.get("lineage") is None or isinstance(document.get("lineage"), str))):
        return "set, changes, serial, lineage or basis missing or of the wrong type"
    return None


def moved_inputs(saved: SavedPlan, manifest: str) -> list[str]:
    """What changed on disk since the plan was made, one phrase each: the manifest at `manifest`, and each
    spec file (relative to that manifest's directory)."""
    from ..manifest.load import read_text
    from ..troubleshoot.specfiles import read_spec_bytes

    inputs = saved.document["inputs"]
    moved = []
    try:
        text_digest = hashlib.sha256(read_text(manifest).encode("utf-8")).hexdigest()
        if text_digest != inputs["manifest"]["sha256"]:
            moved.append(f"{manifest} changed ({_short(inputs['manifest']['sha256'])} in the plan, "
                         f"{_short(text_digest)} now)")
    except ManifestError as exc:
        moved.append(exc.message)
    base = os.path.dirname(os.path.abspath(manifest))
    for path, digest in sorted(inputs[FILES].items()):
        try:
            now = hashlib.sha256(read_spec_bytes(os.path.join(base, path))).hexdigest()
        except OSError as exc:
            moved.append(f"{path}: {exc.strerror or exc}")
            continue
        if now != digest:
            moved.append(f"{path} changed ({_short(str(digest))} in the plan, {_short(now)} now)")
    return moved


def verify_inputs(saved: SavedPlan, desired: ScheduleSet) -> None:
    """StalePlan unless the snapshotted `desired` read exactly the plan's inputs (a file edited between
    `moved_inputs` and loading is caught here)."""
    now, then = desired.inputs or {}, saved.document["inputs"]
    if (now.get("manifest") or {}).get("sha256") != then["manifest"]["sha256"] or now.get(FILES) != then[FILES]:
        raise StalePlan(f"the saved plan {saved.path} is stale: its inputs changed while they were read",
                        hint=HINT)


def stale(saved: SavedPlan, moved: list[str]) -> StalePlan:
    return StalePlan(f"the saved plan {saved.path} is stale: {'; '.join(moved)}", hint=HINT)


def vet(saved: SavedPlan, plan: Plan) -> None:
    """Under the lock: StalePlan unless `plan`, made now, is the saved plan against the same state."""
    document, moved = saved.document, []
    if document["lineage"] != plan.lineage:
        moved.append(f"the state's lineage is {plan.lineage}, the plan was made against {document['lineage']}")
    elif document["basis"] != plan.basis:
        moved.append(f"the state's schedules changed since the plan was made (serial {document['serial']} then, "
                     f"{plan.serial} now)")
    then = {str(c.get("name")): c for c in document["changes"] if isinstance(c, dict)}
    now = {c["name"]: c for c in shown(plan)["changes"]}
    differing = sorted(name for name in then.keys() | now.keys() if then.get(name) != now.get(name))
    if differing:
        described = [_difference(name, then.get(name), now.get(name)) for name in differing[:5]]
        more = f" and {len(differing) - 5} more" if len(differing) > 5 else ""
        moved.append("the plan made now differs: " + ", ".join(described) + more)
    if moved:
        raise stale(saved, moved)


def desired_of(path: str, manifest: str | None, *, config: ScheduleDefaults | None = None
               ) -> tuple[ScheduleSet, Callable[[Plan], None]]:
    """`apply PLAN`: the saved plan's set, snapshotted, from its manifest (at `manifest`, or where the plan
    says), and the check the plan made under the lock must pass to be applied. Raises StalePlan when an
    input moved since the plan was made, PlanFileError for what is no saved plan, ManifestError."""
    from ..manifest.load import valid_manifest
    from .spec_snapshots import snapshot

    plan_file = load(path)
    manifest = manifest or plan_file.manifest
    moved = moved_inputs(plan_file, manifest)
    if moved:
        raise stale(plan_file, moved)
    desired = snapshot(valid_manifest(manifest, config=config))
    verify_inputs(plan_file, desired)
    return desired, lambda plan: vet(plan_file, plan)


def _difference(name: str, then: Mapping[str, Any] | None, now: Mapping[str, Any] | None) -> str:
    if then is not None and now is not None and then.get("action") == now.get("action"):
        return f"{name} (its {now['action']} differs)"
    return (f"{name} ({then.get('action') if then else 'not'} in the plan, "
            f"{now.get('action') if now else 'not in it'} now)")


def _short(digest: str) -> str:
    return f"sha256 {digest[:12]}"
