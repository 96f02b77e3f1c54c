"""Pure: a schema-valid ScheduleSet document → normalized schedule specs, plus semantic problems.

Normalizing means the spec that is stored and compared is complete: `defaults:` deep-merged under the
schedule (the schedule's keys win), then every schema default filled in, then paths made absolute
against the manifest's directory. Because both sides of a diff are normalized this way, writing a
value at its default, moving `defaults:` around or reordering schedules never shows as a change.
"""
from __future__ import annotations

import posixpath
import zoneinfo
from dataclasses import dataclass, field
from functools import cache
from typing import Any, Callable, Mapping

from ..base.names import did_you_mean
from ..base.sections import Pool, share_sections
from ..base.yamlio import JsonPath
from ..schemas import load as load_schema
from ..timing import cron, dependencies
from ..timing.zones import timezone_error

Problem = tuple[JsonPath, str, bool]  # (path, message, at_key)


@dataclass(frozen=True)
class ScheduleSet:
    """A validated manifest: the set's name and its schedules' normalized specs by name.

    As loaded, spec file paths are absolute and `files` holds each file's bytes as they were validated.
    `spec_snapshots.snapshot` makes the form that is planned and stored: paths relative to the manifest's
    directory, each spec's `specFiles` digests, the files' bytes in `contents` by digest, and `inputs`."""

    name: str
    schedules: Mapping[str, dict[str, Any]]
    source: str = ""
    digest: str = ""                                            # sha256 of the manifest's text
    files: Mapping[str, bytes] = field(default_factory=dict)    # absolute spec path -> bytes, as validated
    contents: Mapping[str, bytes] | None = None                 # sha256 -> bytes; None: not snapshotted yet
    inputs: Mapping[str, Any] | None = None                     # what a saved plan checks before it is applied
    max_schedules: int | None = None   # the config files' maxJobsPerUser: the most the state may hold
    templates: Mapping[str, Any] = field(default_factory=dict)  # `templates:` as written, by name

    def template_usage(self) -> list[dict[str, Any]]:
        """Each template (sorted by name) with the schedules that use it: what `sbsched templates` shows."""
        return [{"name": name, "template": self.templates[name],
                 "schedules": sorted(s for s, spec in self.schedules.items() if spec.get("template") == name)}
                for name in sorted(self.templates)]


@dataclass(frozen=True)
class ScheduleDefaults:
    """What the configuration files add under every schedule of a manifest (below its `defaults:`)."""

    spec: Mapping[str, Any] = field(default_factory=dict)   # a partial schedule, deep-merged under it
    upload: Mapping[str, Any] | None = None                 # the upload of schedules that name none
    max_schedules: int | None = None                        # maxJobsPerUser: the most a state dir holds

    def as_spec(self) -> dict[str, Any]:
        """The partial schedule `normalize` merges beneath `defaults:` (`upload` taken whole)."""
        return {**self.spec, **({"upload": dict(self.upload)} if self.upload is not None else {})}


def normalize(data: Mapping[str, Any], *, base_dir: str, source: str = "",
              schema_invalid: frozenset[int] = frozenset(), under: Mapping[str, Any] | None = None,
              consume: bool = False) -> tuple[ScheduleSet, list[Problem]]:
    """Normalize every schedule and run the checks a JSON Schema cannot express.

    Schedules listed in `schema_invalid` (indices) failed the schema: they get only the checks that
    are safe on any shape (name clashes, cron, zone), so that all errors are still reported at once.
    `under` is a partial schedule from the host's config files, merged beneath `defaults:`; its
    `upload`, though, is taken whole, and only by a schedule that names no upload (nor `upload: null`).
    A schedule's `template:` is merged between `defaults:` and its own keys; the spec keeps its name.
    `consume`: each entry of `data["schedules"]` is set to None once read, so that the parsed schedules
    are freed while the normalized ones grow (100,000 schedules: ~190 MiB that would be held to the end).
    """
    problems: list[Problem] = []
    defaults = data.get("defaults") or {}
    templates = data["templates"] if isinstance(data.get("templates"), dict) else {}
    base = dict(under or {})
    default_upload = base.pop("upload", None)
    specs: dict[str, dict[str, Any]] = {}
    first_index: dict[str, int] = {}
    sections: Pool = {}
    schedules = data.get("schedules") or []
    for index in range(len(schedules)):
        raw = schedules[index]
        if consume:
            schedules[index] = None
        path: JsonPath = ("schedules", index)
        if index in schema_invalid:
            problems.extend(_light_check(raw, path, first_index, index))
            continue
        name = raw["name"]
        if name in first_index:
            problems.extend(_light_check(raw, path, first_index, index))
            continue
        first_index[name] = index
        own = {k: v for k, v in raw.items() if k != "name"}
        template = templates.get(raw.get("template"), {})
        if "template" in raw and raw["template"] not in templates:   # (the schema made it a string)
            problems.append(((*path, "template"), f"unknown template {raw['template']!r}"
                             f"{did_you_mean(raw['template'], sorted(templates)) or _listing(templates)}", False))
        merged = deep_merge(base, deep_merge(defaults, deep_merge(template, own)))
        if default_upload is not None and "upload" not in merged:
            merged["upload"] = deep_merge(default_upload, {})
        spec = fill_defaults(merged)
        problems.extend(_check(spec, path, raw))
        specs[name] = share_sections(_absolute_paths(spec, base_dir), sections)
    problems.extend(_dependency_problems(specs, first_index))
    metadata = data.get("metadata")
    set_name = metadata.get("name") if isinstance(metadata, dict) else None
    return ScheduleSet(name=set_name if isinstance(set_name, str) else "", schedules=specs, source=source,
                       templates=templates), problems


def _listing(templates: Mapping[str, Any]) -> str:
    return f" (templates: {', '.join(sorted(templates))})" if templates else " (the manifest has no `templates:`)"


def _dependency_problems(specs: Mapping[str, Mapping[str, Any]], first_index: Mapping[str, int]) -> list[Problem]:
    """`after:` names schedules of this manifest, and never makes a cycle (the first found, as a path)."""
    chained = {name: dependencies.edges(spec) for name, spec in specs.items() if spec.get("after")}
    problems: list[Problem] = []
    for name, edges in chained.items():
        for i, (upstream, _) in enumerate(edges):
            if upstream not in first_index:
                problems.append((("schedules", first_index[name], "after", i, "schedule"),
                                 f"unknown schedule {upstream!r}{did_you_mean(upstream, sorted(first_index))}: "
                                 f"`after:` names a schedule of this manifest", False))
    cycle = dependencies.find_cycle({name: [up for up, _ in edges if up in specs] for name, edges in chained.items()})
    if cycle is not None:
        problems.append((("schedules", first_index[cycle[0]], "after"),
                         f"dependency cycle: {' -> '.join(cycle)} (each runs after the next)", False))
    return problems


def _light_check(raw: Any, path: JsonPath, first_index: dict[str, int], index: int) -> list[Problem]:
    if not isinstance(raw, dict):
        return []
    problems: list[Problem] = []
    name = raw.get("name")
    if isinstance(name, str):
        if name in first_index:
            problems.append(((*path, "name"), f"duplicate schedule name {name!r} (first at schedules[{first_index[name]}])",
                             False))
        first_index.setdefault(name, index)
    if isinstance(raw.get("cron"), str):
        try:
            cron.parse(raw["cron"])
        except cron.CronError as exc:
            problems.append(((*path, "cron"), f"invalid cron {raw['cron']!r}: {exc}", False))
    if isinstance(raw.get("timezone"), str) and (zone_error := timezone_error(raw["timezone"])):
        problems.append(((*path, "timezone"), zone_error, False))
    return problems


def deep_merge(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    """Mappings merge key by key; anything else (lists, scalars, null) in `override` replaces."""
    out = dict(base)
    for key, value in override.items():
        below = out.get(key)
        if isinstance(value, dict) and isinstance(below, dict):
            out[key] = deep_merge(below, value)
        else:
            out[key] = value
    return out


def fill_defaults(spec: Mapping[str, Any], section: str = "schedule") -> dict[str, Any]:
    """The spec (or one of its sections, named as in the schema's `$defs`: `policy`) with every schema
    default filled in, recursively (also used on stored specs, so a default added by a newer sbsched does
    not show as a change)."""
    return _filler(section)(spec)  # type: ignore[no-any-return]


Filler = Callable[[Any], Any]


@cache
def _filler(section: str) -> Filler:
    root = load_schema("schedules")
    filler = _compile(_resolve(root, root["$defs"][section]))
    assert filler is not None
    return filler


def _resolve(root: dict[str, Any], node: Any) -> Any:
    """Inline local $refs once, so that the schema can be compiled by a plain walk."""
    if isinstance(node, dict):
        if "$ref" in node:
            return _resolve(root, root["$defs"][node["$ref"].rsplit("/", 1)[-1]])
        return {k: _resolve(root, v) for k, v in node.items()}
    if isinstance(node, list):
        return [_resolve(root, v) for v in node]
    return node


def _compile(schema: Mapping[str, Any]) -> Filler | None:
    """Turn the schema's `default`s into a function, once: walking the schema for each of 10,000
    schedules cost more than parsing them. None where nothing below has a default."""
    props = schema.get("properties")
    if props:
        compiled = [(key, _compile(sub), "default" in sub, sub.get("default")) for key, sub in props.items()]
        fills = [(key, fill) for key, fill, _, _ in compiled if fill is not None]
        defaults = [(key, fill, default) for key, fill, has_default, default in compiled if has_default]

        def fill_object(value: Any) -> Any:
            """Present keys filled below in place, then absent ones with a default appended, in schema
            order: the same keys in the same order as one pass over the schema's properties, with only
            the properties that fill or default anything looked at (100,000 schedules call this ~1M times)."""
            if value.__class__ is not dict:
                return value
            out = dict(value)
            for key, fill in fills:
                if key in out:
                    out[key] = fill(out[key])
            for key, below, default in defaults:
                if key not in out:
                    fresh = dict(default) if isinstance(default, dict) else list(default) if isinstance(default, list) \
                        else default
                    out[key] = below(fresh) if below is not None else fresh
            return out

        return fill_object
    items = schema.get("items")
    fill_item = _compile(items) if isinstance(items, dict) else None
    if fill_item is None:
        return None
    return lambda value: [fill_item(v) for v in value] if isinstance(value, list) else value


def _check(spec: Mapping[str, Any], path: JsonPath, raw: Mapping[str, Any]) -> list[Problem]:
    """Semantic checks; a problem in a value that came from `defaults:` is placed at the schedule."""
    problems: list[Problem] = []

    def at(*keys: str | int) -> JsonPath:
        return (*path, *keys) if _has(raw, keys[:1]) else path

    if "cron" not in spec:
        if not spec.get("after"):
            problems.append((path, "missing required key 'cron' (or `after:`, to run after another schedule)",
                             False))
    else:
        try:
            cron.parse(spec["cron"])
        except cron.CronError as exc:
            problems.append(((*path, "cron"), f"invalid cron {spec['cron']!r}: {exc}", False))
    zone_error = timezone_error(spec["timezone"])
    if zone_error:
        problems.append((at("timezone"), zone_error, False))
    upload = spec.get("upload")
    if upload is not None:
        url = upload.get("url")
        if not url:
            problems.append((at("upload"), "upload.url is required (here or in defaults.upload)", False))
        elif url.split("://", 1)[0] in ("s3", "gs") and not url.split("://", 1)[1].split("/", 1)[0]:
            problems.append((at("upload", "url"), f"{url!r} names no bucket", False))
    return problems


def secret_references(spec: Mapping[str, Any]) -> list[tuple[str, Mapping[str, Any]]]:
    """Every `{env}` / `{file}` reference of a normalized spec, with where it is used: what a run resolves,
    keeps from its collectors' environment and masks in its bundle, and what an export leaves to a Secret."""
    upload = spec.get("upload") or {}
    places = [(f"upload.credentials.{key}", ref) for key, ref in sorted((upload.get("credentials") or {}).items())]
    options = upload.get("options") or {}
    places += [(f"upload.options.headers.{key}", ref) for key, ref in sorted((options.get("headers") or {}).items())]
    if options.get("bearerToken"):
        places.append(("upload.options.bearerToken", options["bearerToken"]))
    for i, hook in enumerate(spec.get("notify") or []):
        places += [(f"notify[{i}].headers.{key}", ref) for key, ref in sorted((hook.get("headers") or {}).items())]
    return [(where, ref) for where, ref in places if isinstance(ref, Mapping) and ("env" in ref or "file" in ref)]


def _has(raw: Mapping[str, Any], keys: tuple[str | int, ...]) -> bool:
    return not keys or keys[0] in raw


def _absolute_paths(spec: dict[str, Any], base_dir: str) -> dict[str, Any]:
    """Paths in a manifest are relative to the manifest file; the daemon needs them absolute."""

    def absolute(p: str) -> str:
        return posixpath.normpath(posixpath.join(base_dir, p))

    collect = spec["collect"]
    collect["specs"] = [absolute(p) for p in collect["specs"]]
    if collect["kubeconfig"]:
        collect["kubeconfig"] = absolute(collect["kubeconfig"])
    spec["redact"]["redactors"] = [absolute(p) for p in spec["redact"]["redactors"]]
    def absolute_refs(headers: dict[str, Any]) -> dict[str, Any]:
        return {k: {"file": absolute(v["file"])} if isinstance(v, dict) and "file" in v else v
                for k, v in headers.items()}

    for hook in spec["notify"]:
        hook["headers"] = absolute_refs(hook["headers"])
    upload = spec.get("upload")
    if upload:
        options, creds = upload["options"], upload["credentials"]
        if "headers" in options:
            options["headers"] = absolute_refs(options["headers"])
        if "caFile" in options:
            options["caFile"] = absolute(options["caFile"])
        if "file" in (options.get("bearerToken") or {}):
            options["bearerToken"] = {"file": absolute(options["bearerToken"]["file"])}
        if "serviceAccountFile" in creds:
            creds["serviceAccountFile"] = absolute(creds["serviceAccountFile"])
        for ref in creds.values():
            if isinstance(ref, dict) and "file" in ref:
                ref["file"] = absolute(ref["file"])
    return spec
