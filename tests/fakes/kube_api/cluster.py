"""The fake cluster's behaviour, apart from HTTP: what each API request is answered, and what a test
may change (objects, refusals, logs, files, the pod runner and exec handler) until `reset`.

Requests are answered in the apiserver's order: authorization first (a refused request is refused
even for an object that does not exist), then the resource, then the object."""
from __future__ import annotations

import copy
import json
import posixpath
import random
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any
from urllib.parse import unquote

import yaml

from . import apply as ssa
from . import errors
from .bundle import Bundle
from .errors import bad_request, no_such_route
from .logs import LogOptions, LogSource, render, since_from, streamed
from .pods import ExecHandler, ExecResult, PodRunner, echo_runner, finished_status, run_command
from .query import field_matcher, label_matcher, page
from .rbac import Policy
from .store import ResourceType, Store, join_api_version, now_rfc3339
from .synthetic import ClusterSize, Synthetic
from .synthetic import page as synthetic_page

DEFAULT_USER = "system:serviceaccount:default:sbsched"
REVIEW_KINDS = {"selfsubjectrulesreviews": "SelfSubjectRulesReview",
                "selfsubjectaccessreviews": "SelfSubjectAccessReview"}
# The characters of a generated name's suffix (apiserver's SimpleNameGenerator: no vowels, no 0, 1, 3).
NAME_SUFFIX = "bcdfghjklmnpqrstvwxz2456789"


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    query: dict[str, list[str]]
    body: bytes = b""
    content_type: str = ""

    def param(self, name: str) -> str | None:
        values = self.query.get(name)
        return values[-1] if values else None

    def number(self, name: str) -> int | None:
        value = self.param(name)
        try:
            return None if value is None else int(value)
        except ValueError:
            raise bad_request(f"{name}: invalid integer {value!r}") from None

    def flag(self, name: str) -> bool:
        """Go's strconv.ParseBool truths, as query booleans are parsed."""
        return (self.param(name) or "").lower() in ("1", "t", "true")

    def json(self) -> dict[str, Any]:
        try:
            body = json.loads(self.body or b"{}")
        except ValueError as error:
            raise bad_request(f"the request body is not JSON: {error}") from None
        if not isinstance(body, dict):
            raise bad_request("the request body is not a JSON object")
        return body


@dataclass(frozen=True)
class Reply:
    code: int
    body: bytes | Iterator[bytes]     # an iterator is sent chunked
    content_type: str = "application/json"


@dataclass(frozen=True)
class ExecCall:
    """An accepted exec: the HTTP layer upgrades to WebSocket and runs it."""
    namespace: str
    pod: str
    container: str
    command: list[str]
    stdout: bool
    stderr: bool


@dataclass(frozen=True)
class Target:
    """/api/v1[/namespaces/NS]/PLURAL[/NAME[/SUBRESOURCE]], or the same under /apis/GROUP/VERSION."""
    group: str
    version: str
    plural: str
    namespace: str | None
    name: str | None
    subresource: str | None

    @property
    def resource(self) -> str:
        return f"{self.plural}/{self.subresource}" if self.subresource else self.plural

    @property
    def group_version(self) -> str:
        return join_api_version(self.group, self.version)


def json_reply(body: dict[str, Any], code: int = 200) -> Reply:
    return Reply(code, json.dumps(body).encode())


def parse_target(parts: list[str]) -> Target | None:
    if parts[:2] == ["api", "v1"]:
        group, version, rest = "", "v1", parts[2:]
    elif parts[:1] == ["apis"] and len(parts) > 3:
        group, version, rest = parts[1], parts[2], parts[3:]
    else:
        return None
    namespace = None
    if rest[:1] == ["namespaces"] and len(rest) > 2:
        namespace, rest = rest[1], rest[2:]
    if not rest or len(rest) > 3:
        return None
    name = rest[1] if len(rest) > 1 else None
    subresource = rest[2] if len(rest) > 2 else None
    return Target(group, version, rest[0], namespace, name, subresource)


class FakeCluster:
    """A cluster made from a support bundle, answering API requests (see `answer`)."""

    def __init__(self, bundle: Bundle) -> None:
        self.bundle = bundle
        self._lock = threading.RLock()
        self.reset()

    def reset(self) -> None:
        """Back to the bundle's content, nothing forbidden, the default user, pod runner and exec handler."""
        with self._lock:
            self._store = Store(self.bundle)
            self._policy = Policy()
            self.user = DEFAULT_USER   # who 403 messages name
            self.pod_runner: PodRunner = echo_runner
            self.exec_handler: ExecHandler = self.builtin_exec
            self._synthetic: Synthetic | None = None
            self._expiring_continues = 0

    # What a test changes.

    def forbid(self, resource: str, namespace: str | None = None, verb: str = "list") -> None:
        """Answer 403 to `verb` on `resource` (a plural such as `secrets`, in any API group, or a
        subresource such as `pods/log`) in `namespace`; None forbids it everywhere, cluster scope
        included. A cluster-scope request (a list across all namespaces) is refused as soon as one
        namespace refuses it. Exec is verb `create` on `pods/exec`, as RBAC has it."""
        with self._lock:
            self._policy.forbid(resource, namespace, verb)

    def add(self, obj: dict[str, Any]) -> dict[str, Any]:
        """Store a copy of an object of any kind, replacing one of the same name (a kind discovery does
        not know is added to it); returns it as stored, with uid and resourceVersion."""
        metadata = obj.get("metadata")
        if not (obj.get("apiVersion") and obj.get("kind") and isinstance(metadata, dict)
                and metadata.get("name")):
            raise ValueError("an object needs apiVersion, kind and metadata.name")
        with self._lock:
            return copy.deepcopy(self._store.put(obj)[1])

    def remove(self, kind: str, namespace: str | None, name: str, *, api_version: str | None = None) -> None:
        """Delete an object by kind (`api_version` settles a kind two groups share); KeyError if absent."""
        with self._lock:
            rtype = self._store.find(kind, namespace, name, api_version)
            if rtype is None:
                raise KeyError(f"no {kind} {namespace}/{name}" if namespace else f"no {kind} {name}")
            self._store.delete(rtype, namespace, name)

    def set_log(self, namespace: str, pod: str, container: str, source: LogSource,
                previous: bool = False) -> None:
        """A container's log (`previous`: the one before its last restart): text, bytes, or a callable
        giving an iterator of byte chunks, called for each request and served chunked, never held."""
        with self._lock:
            self._store.logs[(namespace, pod, container, previous)] = source

    def synthesize(self, size: ClusterSize) -> None:
        """Serve a synthetic cluster of this size (synthetic.py): its namespaces and CRDs are added to the
        bundle's, its pods, events, custom resources and logs made on request. Lists of pods and events
        then give the synthetic ones only (the bundle's stay readable by name)."""
        synthetic = Synthetic(size)
        with self._lock:
            for obj in sorted(synthetic.stored(), key=lambda obj: obj["kind"] != "CustomResourceDefinition"):
                self._store.put(obj)
            self._synthetic = synthetic

    def expire_continue(self, count: int = 1) -> None:
        """Answer the next `count` list requests that carry a continue token 410 Gone (reason Expired), as
        the apiserver does once etcd has compacted the revision the token reads from."""
        with self._lock:
            self._expiring_continues = count

    def set_file(self, namespace: str, pod: str, container: str, path: str, content: bytes) -> None:
        """A file in a container, for the builtin exec handler's `cat` and `tar`."""
        with self._lock:
            files = self._store.files.setdefault((namespace, pod, container), {})
            files[posixpath.normpath(posixpath.join("/", path))] = content

    def builtin_exec(self, namespace: str, pod: str, container: str, command: list[str]) -> ExecResult:
        """The default exec handler: `echo`, `cat` and `tar -cf -` over the files set with `set_file`."""
        with self._lock:
            files = dict(self._store.files.get((namespace, pod, container), {}))
        return run_command(files, command)

    # Answers.

    def answer(self, request: Request) -> Reply | ExecCall:
        """The answer to one request; raises ApiError for the error answers."""
        parts = [unquote(part) for part in request.path.split("/") if part]
        if (parts in (["version"], ["api"], ["apis"]) or parts[:1] == ["api"] and len(parts) == 2
                or parts[:1] == ["apis"] and len(parts) in (2, 3)):
            if request.method != "GET":
                raise errors.method_not_allowed(f"{request.method} is not allowed on {request.path}")
            return json_reply(self._discovery(parts))
        target = parse_target(parts)
        if target is None:
            raise no_such_route()
        return self._resource(request, target)

    def _discovery(self, parts: list[str]) -> dict[str, Any]:
        with self._lock:
            discovery = self._store.discovery
            if parts == ["version"]:
                return dict(self._store.version)
            if parts == ["api"]:
                return {"kind": "APIVersions", "versions": ["v1"], "serverAddressByClientCIDRs": []}
            if parts == ["apis"]:
                groups = copy.deepcopy(discovery.groups())
                return {"kind": "APIGroupList", "apiVersion": "v1", "groups": groups}
            if parts[0] == "apis" and len(parts) == 2:
                group = discovery.group(parts[1])
                if group is None:
                    raise no_such_route()
                return {"kind": "APIGroup", "apiVersion": "v1", **copy.deepcopy(group)}
            resources = discovery.resource_list("/".join(parts[1:]))
            if resources is None:
                raise no_such_route()
            return {"kind": "APIResourceList", "apiVersion": "v1", **copy.deepcopy(resources)}

    def _resource(self, request: Request, target: Target) -> Reply | ExecCall:
        verb = _verb(request, target)
        with self._lock:
            refused = self._policy.denies(target.resource, target.namespace, verb)
        if refused:
            raise errors.forbidden(self.user, verb, target.group, target.resource, target.namespace,
                                   target.name)
        if target.group == "authorization.k8s.io" and target.plural in REVIEW_KINDS and verb == "create":
            return self._review(request, target)
        with self._lock:
            rtype = self._store.discovery.served(target.group, target.version, target.plural)
        if rtype is None or (target.namespace is not None and not rtype.namespaced):
            raise no_such_route()
        if rtype.namespaced and target.namespace is None and verb not in ("list", "watch"):
            raise no_such_route()  # only a list reaches across namespaces
        if target.subresource is not None:
            if (rtype.group, rtype.plural) == ("", "pods") and target.namespace and target.name:
                if target.subresource == "log" and verb == "get":
                    return self._log(request, target.namespace, target.name)
                if target.subresource == "exec":
                    return self._exec(request, target.namespace, target.name)
            raise no_such_route()
        if verb == "watch":
            raise errors.method_not_allowed("watch is not supported by the fake API server")
        if verb == "list":
            return self._list(request, target, rtype)
        if verb == "create":
            return self._create(request, target, rtype)
        if target.name is None:  # get and delete name their object (_verb)
            raise no_such_route()
        if verb == "patch":
            return self._apply(request, target, rtype, target.name)
        if verb == "get":
            with self._lock:
                obj = self._store.get(rtype, target.namespace, target.name) or \
                    self._made(rtype.group, rtype.plural, target.namespace, target.name)
            if obj is None:
                raise errors.not_found(target.group, target.plural, target.name)
            return json_reply(_as_version(obj, target.group_version))
        return self._delete(target, rtype, target.name)

    def _list(self, request: Request, target: Target, rtype: ResourceType) -> Reply:
        with self._lock:
            if request.param("continue") and self._expiring_continues > 0:
                self._expiring_continues -= 1
                raise errors.expired()
            family = self._synthetic.families.get((rtype.group, rtype.plural)) if self._synthetic else None
            items = self._store.objects(rtype, target.namespace) if family is None else []
            resource_version = str(self._store.resource_version)
        matchers = [matcher(text) for selector, matcher in (("labelSelector", label_matcher),
                                                            ("fieldSelector", field_matcher))
                    if (text := request.param(selector))]
        if family is not None:
            items, metadata = synthetic_page(family, target.namespace,
                                             (lambda obj: all(m(obj) for m in matchers)) if matchers else None,
                                             request.number("limit"), request.param("continue"), resource_version)
        else:
            for matches in matchers:
                items = [item for item in items if matches(item)]
            items, metadata = page(items, request.number("limit"), request.param("continue"), resource_version)
        return json_reply({"kind": f"{rtype.kind}List", "apiVersion": target.group_version,
                           "metadata": metadata,
                           "items": [_as_version(item, target.group_version) for item in items]})

    def _create(self, request: Request, target: Target, rtype: ResourceType) -> Reply:
        obj = request.json()
        obj.setdefault("apiVersion", target.group_version)
        obj.setdefault("kind", rtype.kind)
        metadata = obj.setdefault("metadata", {})
        if target.namespace is not None:
            if metadata.get("namespace", target.namespace) != target.namespace:
                raise bad_request("the namespace of the provided object does not match the namespace sent on "
                                  "the request")
            metadata["namespace"] = target.namespace
        if not metadata.get("name"):
            if not metadata.get("generateName"):
                raise errors.invalid(rtype.kind, "metadata.name",
                                     "Required value: name or generateName is required")
            metadata["name"] = metadata["generateName"] + "".join(random.choices(NAME_SUFFIX, k=5))
        self._check_creatable(target, rtype, metadata["name"])   # before running a pod for nothing
        logs: dict[str, bytes] = {}
        if (rtype.group, rtype.plural) == ("", "pods"):
            results = self.pod_runner(obj)
            obj["status"] = finished_status(obj, results, now_rfc3339())
            logs = {container: log for container, (log, _) in results.items()}
        with self._lock:
            self._check_creatable(target, rtype, metadata["name"])   # again: the runner ran unlocked
            stored = self._store.put(obj)[1]
            for container, log in logs.items():
                self._store.logs[(metadata["namespace"], metadata["name"], container, False)] = log
        return json_reply(stored, 201)

    def _check_creatable(self, target: Target, rtype: ResourceType, name: str) -> None:
        with self._lock:
            namespaces = self._store.discovery.type_for("v1", "Namespace", namespaced=False)
            if target.namespace is not None and self._store.get(namespaces, None, target.namespace) is None:
                raise errors.not_found("", "namespaces", target.namespace)
            if self._store.get(rtype, target.namespace, name) is not None:
                raise errors.already_exists(target.group, target.plural, name)

    def _apply(self, request: Request, target: Target, rtype: ResourceType, name: str) -> Reply:
        """Server-side apply (see apply.py): create the object or merge into it, as `fieldManager`; with
        `dryRun=All` the answer is the object as it would be, and nothing is stored."""
        media_type = request.content_type.split(";")[0].strip()
        if media_type != "application/apply-patch+yaml":
            raise errors.unsupported_media_type(media_type)
        manager = request.param("fieldManager")
        if not manager:
            raise bad_request("PATCH, application/apply-patch+yaml requests require fieldManager")
        try:
            applied = yaml.safe_load(request.body.decode("utf-8"))
        except (yaml.YAMLError, UnicodeDecodeError) as error:
            raise bad_request(f"error decoding YAML: {error}") from None
        if not isinstance(applied, dict):
            raise bad_request("the applied configuration is not an object")
        metadata = applied.get("metadata") if isinstance(applied.get("metadata"), dict) else {}
        if (applied.get("apiVersion"), applied.get("kind")) != (target.group_version, rtype.kind):
            raise bad_request(f"the apiVersion and kind of the applied object ({applied.get('apiVersion')}, "
                              f"{applied.get('kind')}) do not match the request ({target.group_version}, {rtype.kind})")
        if metadata.get("name") != name:
            raise bad_request(f"the name of the object ({metadata.get('name')}) does not match the name on the "
                              f"URL ({name})")
        if target.namespace is not None and metadata.get("namespace", target.namespace) != target.namespace:
            raise bad_request("the namespace of the provided object does not match the namespace sent on the "
                              "request")
        dry_run = request.param("dryRun") == "All"
        with self._lock:
            live = self._store.get(rtype, target.namespace, name)
            if live is None:
                self._check_creatable(target, rtype, name)
            merged = ssa.apply(live, applied, manager, now_rfc3339())
            if target.namespace is not None:
                merged["metadata"]["namespace"] = target.namespace
            if live is not None and merged == live:
                return json_reply(copy.deepcopy(live))
            if "spec" in merged:   # generation counts spec changes, as for the real kinds with a spec
                before = int(live["metadata"].get("generation") or 1) if live is not None else 0
                merged["metadata"]["generation"] = before + 1 if live is None or ssa.spec_changed(live, merged) \
                    else before
            if dry_run:
                return json_reply(merged, 200 if live is not None else 201)
            stored = self._store.put(merged)[1]
        return json_reply(copy.deepcopy(stored), 200 if live is not None else 201)

    def _delete(self, target: Target, rtype: ResourceType, name: str) -> Reply:
        with self._lock:
            removed = self._store.delete(rtype, target.namespace, name)
            if removed is not None and (rtype.group, rtype.plural) == ("", "pods"):
                for key in [key for key in self._store.logs if key[:2] == (target.namespace, name)]:
                    del self._store.logs[key]
        if removed is None:
            raise errors.not_found(target.group, target.plural, name)
        return json_reply(removed)

    def _review(self, request: Request, target: Target) -> Reply:
        spec = request.json().get("spec") or {}
        with self._lock:
            if target.plural == "selfsubjectrulesreviews":
                status = self._policy.rules_review(spec.get("namespace") or None,
                                                   list(self._store.discovery.resources()))
            else:
                status = self._policy.access_review(spec)
        return json_reply({"kind": REVIEW_KINDS[target.plural], "apiVersion": "authorization.k8s.io/v1",
                           "metadata": {"creationTimestamp": None}, "spec": spec, "status": status}, 201)

    def _pod(self, namespace: str, name: str) -> dict[str, Any] | None:
        with self._lock:
            return self._store.get(self._store.pod_type(), namespace, name) or \
                self._made("", "pods", namespace, name)

    def _made(self, group: str, plural: str, namespace: str | None, name: str) -> dict[str, Any] | None:
        """A synthetic object, made afresh; None when the synthetic cluster has none so named."""
        family = self._synthetic.families.get((group, plural)) if self._synthetic else None
        return family.find(namespace, name) if family is not None and namespace else None

    def _container(self, request: Request, pod: dict[str, Any] | None, namespace: str, name: str) -> str:
        """The container a log or exec request is for, chosen and checked as the apiserver does. A pod
        the bundle holds only logs of has the containers logged; with neither, the pod is not found."""
        if pod is None:
            with self._lock:
                regular = every = self._store.containers_logged(namespace, name)
            if not regular:
                raise errors.not_found("", "pods", name)
        else:
            spec = pod.get("spec") or {}
            regular = [container["name"] for container in spec.get("containers") or []]
            every = regular + [container["name"] for key in ("initContainers", "ephemeralContainers")
                               for container in spec.get(key) or []]
        container = request.param("container")
        if container:
            if container not in every:
                raise bad_request(f"container {container} is not valid for pod {name}")
            return container
        if len(regular) == 1:
            return regular[0]
        if not regular:
            raise bad_request(f"a container name must be specified for pod {name}")
        raise bad_request(f"a container name must be specified for pod {name}, "
                          f"choose one of: [{' '.join(every)}]")

    def _log(self, request: Request, namespace: str, name: str) -> Reply:
        container = self._container(request, self._pod(namespace, name), namespace, name)
        previous = request.flag("previous")
        with self._lock:
            source: LogSource | None = self._store.logs.get((namespace, name, container, previous))
            if source is None and self._synthetic is not None:
                source = self._synthetic.log(namespace, name, container, previous)
        if source is None:
            if previous:
                raise bad_request(f'previous terminated container "{container}" in pod "{name}" not found')
            source = b""
        now = datetime.now(timezone.utc)
        try:
            since = since_from(request.number("sinceSeconds"), request.param("sinceTime"), now)
        except ValueError as error:
            raise bad_request(f"sinceTime: {error}") from None
        limit_bytes, tail_lines = request.number("limitBytes"), request.number("tailLines")
        if limit_bytes is not None and limit_bytes < 1:
            raise errors.invalid("PodLogOptions", "limitBytes",
                                 f"Invalid value: {limit_bytes}: must be greater than 0")
        if tail_lines is not None and tail_lines < 0:
            raise errors.invalid("PodLogOptions", "tailLines",
                           f"Invalid value: {tail_lines}: must be greater than or equal to 0")
        options = LogOptions(tail_lines=tail_lines, limit_bytes=limit_bytes, since=since,
                             timestamps=request.flag("timestamps"))
        chunks = render(source, options, now)
        return Reply(200, chunks if streamed(source) else b"".join(chunks), "text/plain")

    def _exec(self, request: Request, namespace: str, name: str) -> ExecCall:
        pod = self._pod(namespace, name)
        if pod is None:
            raise errors.not_found("", "pods", name)
        container = self._container(request, pod, namespace, name)
        phase = (pod.get("status") or {}).get("phase")
        if phase in ("Succeeded", "Failed"):
            raise bad_request(f"cannot exec into a container in a completed pod; current phase is {phase}")
        command = request.query.get("command") or []
        if not command:
            raise bad_request("you must specify at least 1 command")
        if not any(request.flag(stream) for stream in ("stdin", "stdout", "stderr")):
            raise bad_request("you must specify at least one of stdin, stdout, stderr")
        return ExecCall(namespace, name, container, command, request.flag("stdout"), request.flag("stderr"))


def _verb(request: Request, target: Target) -> str:
    """The authorization verb, as the apiserver derives it from method and path."""
    if target.subresource == "exec":
        return "create"  # RBAC asks create on pods/exec, for the WebSocket GET as for POST
    if request.method == "GET":
        if target.name is None:
            return "watch" if request.flag("watch") else "list"
        return "get"
    if request.method == "POST" and target.name is None:
        return "create"
    if request.method == "DELETE" and target.name is not None:
        return "delete"
    if request.method == "PATCH" and target.name is not None:
        return "patch"
    raise errors.method_not_allowed(f"{request.method} is not supported by the fake API server on "
                                    f"{request.path}")


def _as_version(obj: dict[str, Any], group_version: str) -> dict[str, Any]:
    """The object as served in `group_version` (a CRD's other served versions hold the same objects)."""
    return obj if obj["apiVersion"] == group_version else {**obj, "apiVersion": group_version}
