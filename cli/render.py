"""Views: every command's output is made here, from plain data, for text terminals or machines.
JSON and YAML are one document on stdout whatever the terminal; colour only on a terminal."""
from __future__ import annotations

import json
import os
import sys
from datetime import timedelta
from typing import Any, Callable, Iterable, Iterator, Sequence

from reconciler.base.masking import mask_data, mask_text

NONE = "<none>"


def color_enabled() -> bool:
    return sys.stdout.isatty() and not os.environ.get("NO_COLOR") and os.environ.get("TERM") != "dumb"


def paint(text: str, code: str) -> str:
    return f"\x1b[{code}m{text}\x1b[0m" if color_enabled() else text


def out(text: str) -> None:
    sys.stdout.write(text if text.endswith("\n") else text + "\n")


def err(text: str) -> None:
    sys.stderr.write(text if text.endswith("\n") else text + "\n")


def to_json(data: Any) -> str:
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


def to_yaml(data: Any) -> str:
    import yaml

    return yaml.safe_dump(data, sort_keys=False, default_flow_style=False, allow_unicode=True)


def document(data: Any, output: str) -> str:
    return to_yaml(data) if output == "yaml" else to_json(data)


def table(headers: Sequence[str], rows: Iterable[Sequence[str]]) -> str:
    """kubectl-style columns: padded with three spaces, no borders, nothing but text."""
    rows = [list(map(str, r)) for r in rows]
    widths = [max([len(h)] + [len(r[i]) for r in rows]) for i, h in enumerate(headers)]
    lines = ["   ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)).rstrip() for row in [list(headers)] + rows]
    return "\n".join(lines) + "\n"


def scalar(value: Any) -> str:
    """A plan field's value, URL credentials masked (a presigned upload URL's signature is a credential)."""
    if value is None:
        return "null"
    if isinstance(value, (dict, list, bool, int, float, str)):
        return mask_text(json.dumps(value, ensure_ascii=False))
    return mask_text(str(value))


def digest(value: Any) -> str:
    """A spec file's sha256 in a text plan: 12 hex digits tell versions apart (JSON has all 64)."""
    return f"sha256:{value[:12]}" if isinstance(value, str) else "null"


def plan_json(plan: Any) -> str:
    """A plan (the state's or a cluster's) as one JSON document, URL credentials masked as in `scalar`."""
    return to_json(mask_data(plan.to_json()))


# -- plans ------------------------------------------------------------------------------------------
SIGN = {"create": ("+", "32"), "update": ("~", "33"), "delete": ("-", "31"), "no-op": (" ", "0")}


def changes_shown(plan: Any, head: Callable[[Any, str], str]) -> Iterator[tuple[Any, str]]:
    """The changes a plan's view lists, no-ops left out, each with its head line (`+ ` and `head(change,
    action)`) coloured by its action: the state's plan and the cluster's name their changes differently."""
    for change in plan.changes:
        action = change.action.value
        if action != "no-op":
            sign, code = SIGN[action]
            yield change, paint(f"{sign} {head(change, action)}", code)


def _schedule_head(change: Any, action: str) -> str:
    """`nightly: create (cron '0 2 * * *', UTC)`: a created or deleted schedule says when it runs (its cron,
    the runs it follows) and from which template."""
    spec = change.after if change.after is not None else change.before
    template = f", template {spec['template']}" if spec.get("template") else ""
    when = f" ({timing(spec)}{template})" if action in ("create", "delete") else ""
    return f"{change.name}: {action}{when}"


def plan_text(plan: Any, *, applied: bool = False, dry_run: bool = False) -> str:
    lines: list[str] = []
    for change, head in changes_shown(plan, _schedule_head):
        lines.append(head)
        for field in change.fields:
            shown = digest if field.path.startswith("specFiles[") and "]." not in field.path else scalar
            lines.append(f"    {field.path}: {shown(field.before)} -> {shown(field.after)}")
    counts = plan.summary
    tally = (f"{counts['create']} to create, {counts['update']} to update, {counts['delete']} to delete, "
             f"{counts['no-op']} unchanged")
    if not plan.has_changes:
        lines.append(f"No changes: set {plan.set_name!r} is up to date ({counts['no-op']} schedules).")
    elif applied:
        lines.append(f"Applied set {plan.set_name!r}: {counts['create']} created, {counts['update']} updated, "
                     f"{counts['delete']} deleted, {counts['no-op']} unchanged.")
    else:
        lines.append(f"Plan for set {plan.set_name!r}: {tally}." + (" (dry run: nothing written)" if dry_run else ""))
    upgraded = getattr(plan, "upgraded", ())   # schedules applied before spec snapshots (a state plan only)
    if upgraded:
        done = "Snapshotted" if applied else "Apply will snapshot"
        lines.append(f"{done} the spec files of {len(upgraded)} unchanged schedule(s) applied before spec "
                     f"snapshots: {', '.join(upgraded)}.")
    return "\n".join(lines) + "\n"


def timing(spec: Any) -> str:
    """How a schedule is started: "cron '@daily', UTC", "after a (success)", or both."""
    cron = f"cron {spec['cron']!r}, {spec['timezone']}" if "cron" in spec else ""
    after = after_text(spec)
    return "; ".join(part for part in (cron, after and f"after {after}") if part)


def after_text(spec: Any) -> str:
    """A schedule's `after:` chain as "a (success), b (failure)", or ""."""
    return ", ".join(f"{item['schedule']} ({item.get('on', 'success')})" for item in spec.get("after") or [])


# -- executions -------------------------------------------------------------------------------------
def _from_cluster_lines(record: dict[str, Any]) -> list[str]:
    """What collect.auto's RBAC refused and what collect.loadClusterSpecs found (docs/kubernetes.md)."""
    lines = []
    denied = [d["collector"] for d in (record.get("autoDiscovery") or {}).get("denied") or []]
    if denied:
        lines.append(f"Refused:    {len(denied)} discovered collector(s) by RBAC: {', '.join(denied)} "
                     "(see skipped-collectors.json)")
    specs = record.get("clusterSpecs")
    if specs:
        lines.append(f"Cluster specs: {len(specs['loaded'])} loaded, {len(specs['denied'])} list(s) refused, "
                     f"{len(specs['errors'])} unusable")
    return lines


def execution_text(record: dict[str, Any]) -> str:
    lines = [f"Execution {record['id']}: {record['status']}"
             + (f" ({record['reason']})" if record.get("reason") else "")
             + (f" in {record['durationSeconds']:.1f}s" if record.get("durationSeconds") is not None else "")]
    found = record.get("bundle")
    if found:
        counts = found["collectors"]
        lines.append(f"Bundle:     {found['path']} ({found['sizeBytes']:,} bytes, sha256 {found['sha256'][:16]}...)")
        lines.append(f"Collectors: {counts['succeeded']} succeeded, {counts['failed']} failed, "
                     f"{counts['skipped']} skipped")
        if record.get("warnings"):
            lines.append(f"Warnings:   {record['warnings']} (what the credentials could not read: "
                         f"see collector-errors/ in the bundle)")
        lines += _from_cluster_lines(record)
    redaction = record.get("redaction")
    if redaction:
        lines.append(f"Redaction:  {redaction['count']} value(s) masked in {len(redaction['byFile'])} file(s)")
        if redaction.get("tokens") is not None:
            from .render_redaction import tokens_line

            lines.append(tokens_line(redaction["tokens"], record["id"]))
        skipped = redaction.get("notScanned") or {}
        if skipped:   # never silently passed: a binary or an unreadable archive may hold what was not masked
            reasons = ", ".join(sorted(set(skipped.values())))
            shown = ", ".join(sorted(skipped)[:5]) + (f", ... ({len(skipped) - 5} more)" if len(skipped) > 5 else "")
            lines.append(f"Not scanned: {len(skipped)} file{'s' * (len(skipped) != 1)} ({reasons}): {shown}")
    if record.get("error"):
        lines.append(f"Error:      {record['error']['message']}")
    if record.get("status") == "retrying" and record.get("nextAttemptTime"):
        lines.append(f"Retry:      attempt {int(record.get('attempt') or 1) + 1} at {record['nextAttemptTime']}")
    if record.get("recoveredFrom"):
        lines.append(f"Recovers:   {record['recoveredFrom']}")
    if record.get("after"):
        lines.append(f"After:      {record['after']['executionId']} ({record['after']['status']})")
    return "\n".join(lines) + "\n"


def duration(delta: timedelta) -> str:
    """1d2h3m4s: how long a daemon has been up."""
    seconds = int(delta.total_seconds())
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, seconds = divmod(rest, 60)
    return (f"{days}d" if days else "") + (f"{hours}h" if hours or days else "") + f"{minutes}m{seconds}s"
