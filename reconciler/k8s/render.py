"""Pure: a normalized ScheduleSet → the Kubernetes objects that let the CronJob controller run it.

Per schedule a CronJob (the pod runs `sbsched run --from-configmap NS/sbsched-<schedule>`) and the
ConfigMap it reads; per set one ServiceAccount bound to exactly the access its collectors need
(`rbac_check.needed_access`, the derivation `sbsched check` uses): a ClusterRole for what reaches across
namespaces or is cluster-scoped, a Role in each namespace for what is limited to it, plus `get` on the
set's own ConfigMaps. The output depends only on the manifest, the spec files and the options, never on
the clock or on where the manifest is checked out, so it can be committed and diffed.

How the schedule's fields map (docs/kubernetes-cronjobs.md has the table and the reasons):
cron → schedule, timezone → timeZone, policy.concurrency → concurrencyPolicy,
policy.startingDeadlineSeconds → startingDeadlineSeconds, suspend → suspend,
retention.keepLast / keepFailed → successfulJobsHistoryLimit / failedJobsHistoryLimit,
policy.retries → the Job's backoffLimit, policy.timeoutSeconds (+ RUN_MARGIN_SECONDS) → the pod's
activeDeadlineSeconds."""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any, Mapping, Protocol, Sequence

import yaml

from . import configmap, names
from ..base.errors import SbschedError
from ..manifest.normalize import ScheduleSet, secret_references

RUN_MARGIN_SECONDS = 300   # redaction, the archive and the upload come after the run's own timeout
RUNNER_UID = 65532         # the Dockerfile's user
WORK_DIR = "/tmp"          # an emptyDir: the root filesystem is read-only
RBAC = "rbac.authorization.k8s.io"
CONFIGMAP_LIMIT = 1024 * 1024   # the apiserver refuses a larger ConfigMap


class AccessLike(Protocol):
    """rbac_check.Access, as far as rendering reads it."""

    @property
    def verb(self) -> str: ...
    @property
    def group(self) -> str: ...
    @property
    def resource(self) -> str: ...
    @property
    def namespace(self) -> str: ...    # "" = across every namespace, or cluster-scoped
    @property
    def subresource(self) -> str: ...
    @property
    def name(self) -> str: ...


@dataclass(frozen=True)
class ScheduleInputs:
    """What rendering a schedule needs from outside the manifest (inputs.py gathers it)."""

    files: Mapping[str, str]                         # path → text of each configmap.referenced_files path
    accesses: Sequence[AccessLike] = ()              # what its in-cluster collectors need
    host_collectors: bool = False                    # it runs host collectors


@dataclass(frozen=True)
class ExportOptions:
    image: str
    namespace: str = "default"


@dataclass
class Export:
    objects: list[dict[str, Any]]
    warnings: list[str] = field(default_factory=list)


def render(manifest: ScheduleSet, inputs: Mapping[str, ScheduleInputs], options: ExportOptions) -> Export:
    """Every object, in apply order: ServiceAccount, RBAC, then per schedule (by name) ConfigMap, CronJob."""
    _refuse_dependencies(manifest)
    export = Export([])
    rbac_by_namespace: dict[str, list[AccessLike]] = defaultdict(list)
    schedule_objects: list[dict[str, Any]] = []
    for name in sorted(manifest.schedules):
        spec, given = manifest.schedules[name], inputs[name]
        labels = {**_user_labels(name, spec, export.warnings), **names.set_labels(manifest.name),
                  names.SCHEDULE_LABEL: name}
        data = configmap.pack(manifest.name, name, spec, given.files)
        size = sum(len(key) + len(value.encode()) for key, value in data.items())
        if size > CONFIGMAP_LIMIT:
            raise SbschedError(f"{name}: its ConfigMap would hold {size:,} bytes of schedule and spec files; "
                               f"Kubernetes limits a ConfigMap to {CONFIGMAP_LIMIT:,}")
        schedule_objects.append(_object("v1", "ConfigMap", names.configmap_name(name), options.namespace, labels,
                                        data=data))
        schedule_objects.append(_cron_job(manifest.name, name, spec, labels, options))
        for access in given.accesses:
            rbac_by_namespace[access.namespace].append(access)
        export.warnings += _warnings(name, spec, given)
    identity, set_labels = names.identity(manifest.name), names.set_labels(manifest.name)
    subject = [{"kind": "ServiceAccount", "name": identity, "namespace": options.namespace}]
    objects = [_object("v1", "ServiceAccount", identity, options.namespace, set_labels)]
    cluster_rules = _rules(rbac_by_namespace.pop("", []))
    if cluster_rules:
        objects.append(_object(f"{RBAC}/v1", "ClusterRole", identity, None, set_labels, rules=cluster_rules))
        objects.append(_object(f"{RBAC}/v1", "ClusterRoleBinding", identity, None, set_labels,
                               roleRef={"apiGroup": RBAC, "kind": "ClusterRole", "name": identity}, subjects=subject))
    own = [_Grant("get", "", "configmaps", options.namespace, "", names.configmap_name(n)) for n in manifest.schedules]
    rbac_by_namespace[options.namespace].extend(own)
    for namespace in sorted(ns for ns, accesses in rbac_by_namespace.items() if accesses):
        objects.append(_object(f"{RBAC}/v1", "Role", identity, namespace, set_labels,
                               rules=_rules(rbac_by_namespace[namespace])))
        objects.append(_object(f"{RBAC}/v1", "RoleBinding", identity, namespace, set_labels,
                               roleRef={"apiGroup": RBAC, "kind": "Role", "name": identity}, subjects=subject))
    export.objects = objects + schedule_objects
    return export


@dataclass(frozen=True)
class _Grant:
    verb: str
    group: str
    resource: str
    namespace: str
    subresource: str
    name: str


def _refuse_dependencies(manifest: ScheduleSet) -> None:
    """A CronJob starts on its schedule only: nothing in Kubernetes starts a Job when another one ends, so
    a set with `after:` is refused whole rather than exported without its chains."""
    dependent = sorted(name for name, spec in manifest.schedules.items() if spec.get("after"))
    if dependent:
        raise SbschedError(f"cannot export `after:` ({', '.join(dependent)}): a Kubernetes CronJob cannot start "
                           "when another schedule's Job ends", hint="run this set with `sbsched daemon`, or give "
                           "those schedules a cron of their own instead of `after:`")


def _object(api_version: str, kind: str, name: str, namespace: str | None, labels: Mapping[str, str],
            **body: Any) -> dict[str, Any]:
    metadata: dict[str, Any] = {"name": name}
    if namespace is not None:
        metadata["namespace"] = namespace
    metadata["labels"] = dict(sorted(labels.items()))
    return {"apiVersion": api_version, "kind": kind, "metadata": metadata, **body}


def _cron_job(set_name: str, name: str, spec: Mapping[str, Any], labels: Mapping[str, str],
              options: ExportOptions) -> dict[str, Any]:
    policy, retention = spec["policy"], spec["retention"]
    command = ["sbsched", "run", "--from-configmap", f"{options.namespace}/{names.configmap_name(name)}",
               "--job-name", "$(SBSCHED_JOB_NAME)", "--output-dir", f"{WORK_DIR}/bundles", "-o", "json"]
    container = {
        "name": "sbsched",
        "image": options.image,
        "command": command,
        "workingDir": WORK_DIR,
        "env": [{"name": "HOME", "value": WORK_DIR},
                # the Job's name carries the slot (runner.scheduled_time); Kubernetes expands $(VAR) in command
                {"name": "SBSCHED_JOB_NAME",
                 "valueFrom": {"fieldRef": {"fieldPath": "metadata.labels['batch.kubernetes.io/job-name']"}}}],
        "resources": {"requests": {"cpu": "100m", "memory": "128Mi"}, "limits": {"memory": "1Gi"}},
        "securityContext": {"allowPrivilegeEscalation": False, "readOnlyRootFilesystem": True,
                            "capabilities": {"drop": ["ALL"]}},
        "volumeMounts": [{"name": "work", "mountPath": WORK_DIR}],
    }
    pod_spec = {
        "serviceAccountName": names.identity(set_name),
        "restartPolicy": "Never",
        "activeDeadlineSeconds": int(policy["timeoutSeconds"]) + RUN_MARGIN_SECONDS,
        "securityContext": {"runAsNonRoot": True, "runAsUser": RUNNER_UID, "runAsGroup": RUNNER_UID,
                            "fsGroup": RUNNER_UID, "seccompProfile": {"type": "RuntimeDefault"}},
        "containers": [container],
        "volumes": [{"name": "work", "emptyDir": {}}],
    }
    cron_spec: dict[str, Any] = {
        "schedule": spec["cron"],
        "timeZone": spec["timezone"],
        "concurrencyPolicy": policy["concurrency"],
    }
    if policy["startingDeadlineSeconds"] is not None:
        cron_spec["startingDeadlineSeconds"] = int(policy["startingDeadlineSeconds"])
    cron_spec.update({
        "suspend": bool(spec["suspend"]),
        "successfulJobsHistoryLimit": int(retention["keepLast"]),
        "failedJobsHistoryLimit": int(retention["keepFailed"]),
        "jobTemplate": {
            "metadata": {"labels": dict(sorted(labels.items()))},
            "spec": {"backoffLimit": int(policy["retries"]),
                     "template": {"metadata": {"labels": dict(sorted(labels.items()))}, "spec": pod_spec}},
        },
    })
    return _object("batch/v1", "CronJob", name, options.namespace, labels, spec=cron_spec)


def _rules(accesses: Sequence[AccessLike]) -> list[dict[str, Any]]:
    """PolicyRules granting exactly `accesses`: verbs gathered per (group, resource, name), the names of a
    resource with the same verbs into resourceNames (none when one access is unnamed), then resources
    with the same verbs and names into one rule; sorted, so the output is stable."""
    verbs: dict[tuple[str, str, str], set[str]] = defaultdict(set)
    for access in accesses:
        resource = f"{access.resource}/{access.subresource}" if access.subresource else access.resource
        verbs[(access.group, resource, access.name)].add(access.verb)
    named: dict[tuple[str, str, tuple[str, ...]], set[str]] = defaultdict(set)
    for (group, resource, name), verb_set in verbs.items():
        named[(group, resource, tuple(sorted(verb_set)))].add(name)
    merged: dict[tuple[str, tuple[str, ...], tuple[str, ...]], list[str]] = defaultdict(list)
    for (group, resource, verb_list), resource_names in named.items():
        key_names = () if "" in resource_names else tuple(sorted(resource_names))
        merged[(group, verb_list, key_names)].append(resource)
    rules = []
    for (group, verb_list, resource_names_key), resources in sorted(merged.items()):
        rule: dict[str, Any] = {"apiGroups": [group], "resources": sorted(resources)}
        if resource_names_key:
            rule["resourceNames"] = list(resource_names_key)
        rule["verbs"] = list(verb_list)
        rules.append(rule)
    return rules


def _user_labels(name: str, spec: Mapping[str, Any], warnings: list[str]) -> dict[str, str]:
    """The schedule's own labels that Kubernetes accepts; the others are left off, with a warning."""
    out = {}
    for key, value in sorted((spec.get("labels") or {}).items()):
        problem = names.label_problem(key, value)
        if problem is None and not key.startswith(("sbsched.dev/", "app.kubernetes.io/")):
            out[key] = value
        else:
            warnings.append(f"{name}: label {key!r} is not put on the objects: {problem or 'a reserved key'}")
    return out


def _warnings(name: str, spec: Mapping[str, Any], given: ScheduleInputs) -> list[str]:
    """What runs differently in a pod than on the host (the export still renders it)."""
    out: list[str] = []
    collect, policy = spec["collect"], spec["policy"]
    if collect["kubeconfig"] or collect["context"]:
        out.append(f"{name}: collect.kubeconfig/context are not exported: the pod reads the cluster it runs in, "
                   "through its ServiceAccount")
    if given.host_collectors:
        out.append(f"{name}: host collectors run in the runner's container and describe it, not a node")
    url = (spec.get("upload") or {}).get("url") or ""
    if url.startswith("file://"):
        out.append(f"{name}: upload {url} writes inside the pod, and is lost when the pod ends")
    for where, path in _file_references(spec):
        out.append(f"{name}: {where} reads {path}: mount it in the pod (a Secret volume) or use {{env: VAR}} "
                   "with an env from a Secret")
    if policy["jitterSeconds"]:
        out.append(f"{name}: policy.jitterSeconds is not carried over: the CronJob controller has no jitter")
    if _day_fields_differ(spec["cron"]):
        out.append(f"{name}: cron {spec['cron']!r}: Kubernetes reads a day field starting with '*/' as "
                   "restricted (cronie does not), so the day-of-month/day-of-week OR differs")
    return out


def _file_references(spec: Mapping[str, Any]) -> list[tuple[str, str]]:
    """Secret references to files, and a GCS key file: they are not packed into the ConfigMap."""
    found = [(where, str(ref["file"])) for where, ref in secret_references(spec) if "file" in ref]
    key_file = ((spec.get("upload") or {}).get("credentials") or {}).get("serviceAccountFile")
    return found + ([("upload.credentials.serviceAccountFile", str(key_file))] if key_file else [])


def _day_fields_differ(expression: str) -> bool:
    """robfig/cron (the CronJob controller's) treats only a bare `*` day field as unrestricted; cronie
    any field starting with `*`. They disagree when the other day field is restricted."""
    fields = expression.split()
    if len(fields) != 5:
        return False
    dom, dow = fields[2], fields[4]
    def loose(f: str) -> bool:
        return f.startswith("*") and f not in ("*", "?")
    return (loose(dom) and not dow.startswith("*")) or (loose(dow) and not dom.startswith("*"))


class _Dumper(getattr(yaml, "CSafeDumper", yaml.SafeDumper)):  # type: ignore[misc]
    """Block style, multi-line strings as literal blocks (spec files stay readable in the ConfigMap).
    libyaml's emitter: the pure-Python one spent ~90 % of exporting 1,000 schedules."""


def _str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _str)


def dump(objects: Sequence[Mapping[str, Any]]) -> str:
    """Multi-document YAML, keys in the order rendered (apiVersion, kind, metadata first)."""
    return "".join("---\n" + yaml.dump(obj, Dumper=_Dumper, sort_keys=False, default_flow_style=False, width=1000,
                                       allow_unicode=True) for obj in objects)
