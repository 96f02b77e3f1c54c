"""Pure: one schedule in a ConfigMap, and back.

The ConfigMap holds `schedule.json` (the set, the name and the normalized spec) and every file the spec
reads that is not a secret: its troubleshoot specs, redactor specs and the upload's CA file, each under
a key made from its file name. In `schedule.json` those paths are the keys, so the ConfigMap does not
depend on where the manifest was checked out; the pod writes the files into a private directory and
normalizes the spec against it, exactly as a manifest is normalized against its own directory.

Not carried: `collect.kubeconfig` and `collect.context` (the pod uses its ServiceAccount), and secret
references, which stay references (`{env: VAR}` works with an env from a Secret; `{file: PATH}` needs
that path mounted in the pod)."""
from __future__ import annotations

import copy
import json
import posixpath
import re
from typing import Any, Mapping

from ..base.errors import SbschedError
from ..manifest.normalize import normalize
from ..manifest.schema import validate as schema_validate

SCHEDULE_KEY = "schedule.json"
API_VERSION = "sbsched/v1"
KIND = "Schedule"


class ConfigMapError(SbschedError):
    """A ConfigMap that does not hold a usable schedule."""


def referenced_files(spec: Mapping[str, Any]) -> list[str]:
    """The non-secret files a normalized spec reads, in order, each once."""
    paths = [*spec["collect"]["specs"], *spec["redact"]["redactors"]]
    ca_file = ((spec.get("upload") or {}).get("options") or {}).get("caFile")
    if ca_file:
        paths.append(ca_file)
    return list(dict.fromkeys(paths))


def file_keys(paths: list[str]) -> dict[str, str]:
    """A ConfigMap key (`[-._a-zA-Z0-9]+`) per path: its file name, numbered when two share one."""
    taken, keys = {SCHEDULE_KEY}, {}
    for path in paths:
        base = re.sub(r"[^-._a-zA-Z0-9]", "_", posixpath.basename(path)).lstrip(".") or "file"
        key, n = base, 2
        while key in taken:
            key, n = f"{n}-{base}", n + 1
        taken.add(key)
        keys[path] = key
    return keys


def pack(set_name: str, name: str, spec: Mapping[str, Any], files: Mapping[str, str]) -> dict[str, str]:
    """The ConfigMap `data` of one schedule; `files` holds the text of every `referenced_files` path."""
    keys = file_keys(referenced_files(spec))
    packed = copy.deepcopy(dict(spec))
    packed["collect"]["specs"] = [keys[p] for p in packed["collect"]["specs"]]
    packed["collect"]["kubeconfig"] = None
    packed["collect"]["context"] = None
    packed["redact"]["redactors"] = [keys[p] for p in packed["redact"]["redactors"]]
    options = (packed.get("upload") or {}).get("options") or {}
    if options.get("caFile"):
        options["caFile"] = keys[options["caFile"]]
    document = {"apiVersion": API_VERSION, "kind": KIND, "set": set_name, "name": name, "spec": packed}
    data = {SCHEDULE_KEY: json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n"}
    data.update({key: files[path] for path, key in keys.items()})
    return data


def unpack(data: Mapping[str, str], directory: str) -> tuple[str, str, dict[str, Any], dict[str, str]]:
    """(set, schedule name, spec normalized against `directory`, {path under directory: text} to write
    there first). The spec goes through the manifest's own schema and semantic checks."""
    text = data.get(SCHEDULE_KEY)
    if text is None:
        raise ConfigMapError(f"the ConfigMap has no {SCHEDULE_KEY!r} key: it was not written by "
                             "`sbsched export kubernetes`")
    try:
        document = json.loads(text)
    except ValueError as exc:
        raise ConfigMapError(f"{SCHEDULE_KEY} is not JSON: {exc}") from None
    if not isinstance(document, dict) or (document.get("apiVersion"), document.get("kind")) != (API_VERSION, KIND):
        raise ConfigMapError(f"{SCHEDULE_KEY} is not an {API_VERSION} {KIND}")
    set_name, name, spec = document.get("set"), document.get("name"), document.get("spec")
    if not isinstance(spec, dict):
        raise ConfigMapError(f"{SCHEDULE_KEY} has no spec")
    manifest = {"apiVersion": "sbsched/v1", "kind": "ScheduleSet", "metadata": {"name": set_name},
                "schedules": [{"name": name, **spec}]}
    problems = schema_validate(manifest)
    if not problems:
        normalized, semantic = normalize(manifest, base_dir=directory)
        problems = semantic
    if problems:
        at, message, _ = problems[0]
        where = ".".join(str(step) for step in at[2:]) or "spec"
        raise ConfigMapError(f"{SCHEDULE_KEY}: {where}: {message}"
                             + (f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""))
    assert isinstance(set_name, str) and isinstance(name, str)
    spec = normalized.schedules[name]
    files: dict[str, str] = {}
    for path in referenced_files(spec):
        key = posixpath.relpath(path, directory)
        if key in (SCHEDULE_KEY, ".", "..") or key not in data or "/" in key:   # never outside `directory`
            raise ConfigMapError(f"{SCHEDULE_KEY} names file {key!r}, which the ConfigMap does not hold")
        files[path] = data[key]
    return set_name, name, spec, files
