"""Listing a resource kind into troubleshoot's per-namespace List files, a page at a time.

troubleshoot issues one LIST per kind per namespace, one after another, and holds each List in memory.
Here a kind is listed cluster-wide when the credentials allow it (one request, paginated), items are
appended to `<dir>/<namespace>.json` as they arrive, and only where the cluster-wide LIST is forbidden,
or the schedule limits namespaces, does it fall back to one LIST per namespace. Every namespace in scope
gets its file, empty or not, as troubleshoot's bundles have.
"""
from __future__ import annotations

import itertools
import json
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import IO, Any, Callable, Iterator

from .. import Output
from .client import ApiError, Kube

PAGE_SIZE = 500


@dataclass(frozen=True)
class Kind:
    """One resource kind: where the API serves it and where troubleshoot writes it."""

    directory: str        # troubleshoot's name: `pods`, `pvcs`, `network-policy`, `storage-classes`...
    group_version: str    # "v1", "apps/v1"
    plural: str
    kind: str
    namespaced: bool

    def path(self, namespace: str | None = None) -> str:
        """The API path of a list, cluster-wide (namespace None) or in one namespace."""
        prefix = "/api/v1" if self.group_version == "v1" else f"/apis/{self.group_version}"
        return f"{prefix}/namespaces/{namespace}/{self.plural}" if namespace else f"{prefix}/{self.plural}"


class JsonItems:
    """A JSON file written item by item: `head`, then `[`, the items indented by `indent` and the
    closing `tail`, or `empty` when there were none, laid out as Go's json.MarshalIndent(value, "", "  ")
    lays it out. Items are not kept."""

    def __init__(self, handle: IO[bytes], head: bytes, indent: int, tail: bytes, empty: bytes, kind: Kind) -> None:
        self.handle, self.indent, self.tail, self.empty, self.kind, self.count = handle, indent, tail, empty, kind, 0
        handle.write(head)

    def add(self, item: dict[str, Any]) -> None:
        item.setdefault("kind", self.kind.kind)          # the API omits them in lists; troubleshoot sets them
        item.setdefault("apiVersion", self.kind.group_version)
        pad = "\n" + " " * self.indent
        text = json.dumps(_kind_first(item), indent=2, ensure_ascii=False).replace("\n", pad)
        self.handle.write(("," if self.count else "[").encode() + (pad + text).encode("utf-8"))
        self.count += 1

    def close(self) -> None:
        self.handle.write(self.tail if self.count else self.empty)
        self.handle.close()

    def resume(self, handle: IO[bytes]) -> None:
        """Continue a closed file that has items: cut its closing brackets off and append from there."""
        handle.seek(-len(self.tail), 2)
        handle.truncate()
        self.handle = handle


def list_file(handle: IO[bytes], kind: Kind, resource_version: str) -> JsonItems:
    """A Kubernetes List (`{kind: XList, apiVersion, metadata: {resourceVersion}, items: [...]}`). No items
    is `"items": null`, as in troubleshoot's bundles (client-go decodes an empty list to a nil slice)."""
    head = json.dumps({"kind": f"{kind.kind}List", "apiVersion": kind.group_version,
                       "metadata": {"resourceVersion": resource_version}}, indent=2, ensure_ascii=False)
    return JsonItems(handle, head[:-2].encode("utf-8") + b',\n  "items": ', 4, b"\n  ]\n}", b"null\n}", kind)


def array_file(handle: IO[bytes], kind: Kind) -> JsonItems:
    """A bare JSON array of objects, as troubleshoot stores custom resources."""
    return JsonItems(handle, b"", 2, b"\n]", b"[]", kind)


@dataclass
class Listed:
    """What a kind's listing produced: files written (by namespace; None for cluster scope) and errors
    keyed as troubleshoot keys them (namespace; "" for cluster scope)."""

    counts: dict[str | None, int] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    requests: int = 0
    restarts: list[str] = field(default_factory=list)   # lists restarted after an expired continue token


def pages(kube: Kube, path: str, query: dict[str, Any] | None = None, *, timeout: float | None = None,
          listed: Listed | None = None) -> Iterator[dict[str, Any]]:
    """Each page of a LIST (`limit` + `continue`), parsed. The next page is asked for as soon as its
    continue token is known, so it travels while the caller writes this one: pages of a list cannot
    be asked for in parallel, and on a large cluster the events alone are 120 of them in a row. At
    most two pages are in memory.

    A continue token expires (410 Gone, reason Expired) when etcd compacts the revision it reads, e.g.
    on a large cluster listed slowly. The pages already yielded are on disk, so the list is restarted
    once, from the start, and the items up to the last one yielded are skipped (the API returns them in
    key order): nothing is written twice, and the rest comes from a newer revision. The restart is noted
    in `listed.restarts`; a second expiry is the list's error."""
    params = dict(query or {}, limit=PAGE_SIZE)
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="sbsched-page") as ahead:
        yield from _pages(kube, path, params, timeout, listed, ahead)


def _pages(kube: Kube, path: str, params: dict[str, Any], timeout: float | None, listed: Listed | None,
           ahead: ThreadPoolExecutor) -> Iterator[dict[str, Any]]:
    last: tuple[str, str] | None = None   # key of the last item yielded
    restarted = False
    coming = ahead.submit(kube.get, path, dict(params), timeout=timeout)
    while True:
        try:
            page = coming.result()
        except ApiError as exc:
            if restarted or exc.status != 410 or "continue" not in params:
                raise
            restarted = True
            del params["continue"]
            coming = ahead.submit(kube.get, path, dict(params), timeout=timeout)
            if listed is not None:
                listed.restarts.append(f"LIST {path}: the continue token expired (410 Gone); listed again from "
                                       "the start, once, keeping only the items after the last one written"
                                       f"{' (' + '/'.join(filter(None, last)) + ')' if last else ''}: those "
                                       "are from the newer list")
            continue
        if listed is not None:
            listed.requests += 1
        items = page.get("items") or []
        if restarted and last is not None:
            page["items"] = items = [item for item in items if _key(item) > last]
        if items:
            last = _key(items[-1])
        token = (page.get("metadata") or {}).get("continue")
        if token:
            params["continue"] = token
            coming = ahead.submit(kube.get, path, dict(params), timeout=timeout)
        yield page
        if not token:
            return


def whole_list(kube: Kube, path: str, query: dict[str, Any] | None = None, *,
               timeout: float | None = None) -> dict[str, Any]:
    """A LIST read page by page, answered as one List: for the small filtered lists a file holds whole
    (a run pod's events), still paginated so that none is an unbounded request."""
    listing = pages(kube, path, query, timeout=timeout)
    first = next(listing)
    items = list(first.get("items") or [])
    for page in listing:
        items += page.get("items") or []
    metadata = {k: v for k, v in (first.get("metadata") or {}).items() if k not in ("continue", "remainingItemCount")}
    return {**first, "metadata": metadata, "items": items}


def _key(item: dict[str, Any]) -> tuple[str, str]:
    metadata = item.get("metadata") or {}
    return str(metadata.get("namespace") or ""), str(metadata.get("name") or "")


Observer = Callable[[dict[str, Any]], None]


def list_kind(kube: Kube, output: Output, kind: Kind, namespaces: list[str], *, cluster_wide: bool,
              timeout: float | None = None, observe: Observer | None = None) -> Listed:
    """Write `cluster-resources/<dir>/<ns>.json` for each namespace (namespaced kinds) or
    `cluster-resources/<dir>.json` (cluster-scoped ones). `observe` sees every item written."""
    listed = Listed()
    if not kind.namespaced:
        try:
            _write_scope(kube, output, kind, None, listed, timeout, observe)
        except ApiError as exc:
            listed.errors[""] = exc.message
        return listed
    remaining = list(namespaces)
    if cluster_wide:
        try:
            split_by_namespace(kube, output, kind, kind.path(), set(namespaces), listed, timeout, observe=observe,
                               relative=lambda ns: f"cluster-resources/{kind.directory}/{ns}.json",
                               new_file=lambda handle, version: list_file(handle, kind, version))
            remaining = []
        except ApiError as exc:
            if not exc.forbidden:
                listed.errors[""] = exc.message
                return listed
    for namespace in remaining:
        try:
            _write_scope(kube, output, kind, namespace, listed, timeout, observe)
        except ApiError as exc:
            listed.errors[namespace] = exc.message
    return listed


def _write_scope(kube: Kube, output: Output, kind: Kind, namespace: str | None, listed: Listed,
                 timeout: float | None, observe: Observer | None) -> None:
    """One namespace's (or the cluster scope's) List; nothing is written when the first page fails."""
    relative = f"cluster-resources/{kind.directory}/{namespace}.json" if namespace else \
        f"cluster-resources/{kind.directory}.json"
    iterator = pages(kube, kind.path(namespace), timeout=timeout, listed=listed)
    first = next(iterator)
    writer = list_file(output.open(relative), kind, _resource_version(first))
    try:
        for page in itertools.chain([first], iterator):
            for item in page.get("items") or []:
                writer.add(item)
                if observe is not None:
                    observe(item)
    finally:
        writer.close()
    listed.counts[namespace] = writer.count


def split_by_namespace(kube: Kube, output: Output, kind: Kind, path: str, wanted: set[str] | None, listed: Listed,
                       timeout: float | None, *, relative: Callable[[str], str],
                       new_file: Callable[[IO[bytes], str], JsonItems], observe: Observer | None = None,
                       write_empty: bool = True) -> None:
    """One cluster-wide LIST split into per-namespace files (`wanted` None: every namespace listed;
    `write_empty`: a file for each wanted namespace even without items, as Lists have). A real API
    server returns items in key order (grouped by namespace), so one file is open at a time; a
    namespace seen again is resumed."""
    files: dict[str, JsonItems] = {}
    current: JsonItems | None = None
    version = ""
    try:
        for page in pages(kube, path, timeout=timeout, listed=listed):
            version = version or _resource_version(page)
            for item in page.get("items") or []:
                namespace = str((item.get("metadata") or {}).get("namespace") or "")
                if wanted is not None and namespace not in wanted:
                    continue
                if current is None or current is not files.get(namespace):
                    if current is not None:
                        current.close()
                    if namespace in files:
                        files[namespace].resume(output.open(relative(namespace), "r+b", truncate=False))
                    else:
                        files[namespace] = new_file(output.open(relative(namespace)), version)
                    current = files[namespace]
                current.add(item)
                if observe is not None:
                    observe(item)
    finally:
        if current is not None:
            current.close()
    for namespace in sorted((wanted or set()) - files.keys() if write_empty else ()):
        new_file(output.open(relative(namespace)), version).close()
    listed.counts.update({namespace: writer.count for namespace, writer in files.items()})


def _resource_version(page: dict[str, Any]) -> str:
    return str((page.get("metadata") or {}).get("resourceVersion") or "")


def _kind_first(item: dict[str, Any]) -> dict[str, Any]:
    """Go marshals TypeMeta (kind, apiVersion) before ObjectMeta: keep that order in the file."""
    return {"kind": item["kind"], "apiVersion": item["apiVersion"],
            **{k: v for k, v in item.items() if k not in ("kind", "apiVersion")}}


def errors_file(output: Output, directory: str, errors: dict[str, str], *, namespaced: bool) -> None:
    """`cluster-resources/<dir>-errors.json`, troubleshoot's shape: {namespace: message} for namespaced
    kinds, [message] for cluster-scoped ones; not written when there were none."""
    if not errors:
        return
    value: Any = errors if namespaced else list(errors.values())
    output.write_json(f"cluster-resources/{directory}-errors.json", value)
