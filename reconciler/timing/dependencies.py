"""Pure: schedules that run after another one's run ends (`after: [{schedule, on}]`).

The graph is checked when a manifest is validated (unknown names, cycles), so the daemon and `run` can
follow it without guarding against loops. A dependent runs once per run of its upstream that ends the
way it asks for; `on: failure` means failed for good (after the upstream's retries), so one upstream
slot never starts a dependent twice.
"""
from __future__ import annotations

import hashlib
from typing import Any, Iterable, Iterator, Mapping, Sequence

MAX_ID_LENGTH = 200   # execution ids are file names: a long chain of long names must still fit

OUTCOMES = {"success": ("completed",), "failure": ("failed",), "completion": ("completed", "failed")}


def edges(spec: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(upstream schedule, on) of each `after` entry of a normalized spec, in the manifest's order."""
    return [(item["schedule"], item.get("on", "success")) for item in spec.get("after") or []]


def find_cycle(graph: Mapping[str, Iterable[str]]) -> list[str] | None:
    """A cycle of `graph` (schedule -> the schedules it runs after) as a closed path [a, b, a], or None.
    Names are visited in sorted order, so the same manifest always reports the same cycle. Iterative (a
    chain of 10,000 schedules is no recursion limit); a name absent from `graph` has no edges."""
    done: set[str] = set()
    for start in sorted(graph):
        if start in done:
            continue
        path, on_path = [start], {start}
        stack: list[Iterator[str]] = [iter(sorted(graph[start]))]
        while stack:
            following = next(stack[-1], None)
            if following is None:
                stack.pop()
                done.add(path[-1])
                on_path.discard(path.pop())
            elif following in on_path:
                return path[path.index(following):] + [following]
            elif following not in done:
                path.append(following)
                on_path.add(following)
                stack.append(iter(sorted(graph.get(following, ()))))
    return None


def followers(specs: Mapping[str, Mapping[str, Any]]) -> dict[str, list[tuple[str, str]]]:
    """upstream -> [(dependent, on)]: built once per state, so a run's end looks up its dependents
    instead of scanning every schedule (a burst of thousands of runs ending)."""
    out: dict[str, list[tuple[str, str]]] = {}
    for name in sorted(specs):
        for upstream, on in edges(specs[name]):
            out.setdefault(upstream, []).append((name, on))
    return out


def dependents(following: Mapping[str, Sequence[tuple[str, str]]], upstream: str, status: str) -> list[str]:
    """The schedules that run now because a run of `upstream` ended with `status`, sorted, each once
    (callers leave out the suspended ones, as their cron slots would be left out)."""
    return sorted({name for name, on in following.get(upstream, ()) if status in OUTCOMES[on]})


def run_id(schedule: str, upstream_id: str) -> str:
    """`<schedule>-after-<upstream execution id>`: one id per upstream run, so a daemon never starts the
    same dependent run twice; hashed past MAX_ID_LENGTH (a chain of long names)."""
    plain = f"{schedule}-after-{upstream_id}"
    if len(plain) <= MAX_ID_LENGTH:
        return plain
    return f"{schedule}-after-{hashlib.sha256(upstream_id.encode()).hexdigest()[:20]}"



def scheduled_upstreams(specs: Mapping[str, Mapping[str, Any]], name: str) -> list[str]:
    """The nearest schedules with a cron up `name`'s chain (itself when it has one): whose fire times start
    its runs, for `next`. Sorted; a name missing from `specs` (deleted since) ends its branch."""
    found: set[str] = set()
    seen: set[str] = set()
    todo = [name]
    while todo:
        current = todo.pop()
        if current in seen or current not in specs:
            continue
        seen.add(current)
        if "cron" in specs[current]:
            found.add(current)
        else:
            todo += [up for up, _ in edges(specs[current])]
    return sorted(found)
