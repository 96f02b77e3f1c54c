"""troubleshoot's `when` syntax, analyzer by analyzer: parse a `when` string, and compare it with a value
read from the bundle. Each parser raises WhenError with a message close to troubleshoot's; `check`
runs the parser alone, for `validate`'s diagnostics. Pure.

| analyzer | when |
|---|---|
| clusterVersion | a semver range: `>= 1.28.0`, `< 1.16.0 || >= 2.0.0` |
| nodeResources | `count() > 2`, `sum(memoryCapacity) < 2Gi`, `min(cpuAllocatable) >= 500m`, `nodeCondition(Ready) == True`, `= 1` |
| deploymentStatus, statefulsetStatus | `< 1`, `>= 2`, `absent` (ready replicas) |
| jobStatus | `succeeded >= 1`, `failed > 0` |
| replicasetStatus | `ready < 2`, `available = 3` |
| clusterPodStatuses | `!= Healthy`, `== CrashLoopBackOff`, `= Pending` |
| containerRuntime | `== containerd` |
| distribution | `== k3s`, `!= eks`, `openshift` |
| event, regex textAnalyze, yamlCompare, jsonCompare | `true` / `false` |
| regexGroups textAnalyze | `Replicas < 5`, `Status = Ready` |
| host cpu | `count < 4`, `logical >= 2`, `physical > 1`, `machineArch == x86_64`, `supports x86-64-v2`, `hasFlags avx,sse4_2` |
| host memory | `< 8Gi` |
| host diskUsage | `total < 40Gi`, `used/total > 80%`, `available < 10Gi` |
| host time | `timezone != UTC`, `ntp == synchronized+active` |
| host hostOS | `ubuntu >= 20.04`, `centos >= 7 && < 9`, `kernelVersion >= 5.10` |
| host tcpPortStatus | a status: `connected`, `connection-refused`, ... |
| host / cluster http | `error`, `statusCode == 200`, `statusCode >= 300 || statusCode < 200` |
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Callable, Mapping

from . import expression, semver
from .quantity import QuantityError, as_int64, parse_quantity

EQ = ("=", "==", "===")
NE = ("!=", "!==")
ORDER = ("<", ">", "<=", ">=")
_INT = re.compile(r"[+-]?[0-9]+")


class WhenError(ValueError):
    """A `when` troubleshoot cannot evaluate."""


def go_atoi(text: str) -> int:
    if not _INT.fullmatch(text):
        raise WhenError(f'strconv.Atoi: parsing "{text}": invalid syntax')
    return int(text)


def parse_bool(text: str) -> bool:
    """strconv.ParseBool."""
    if text in ("1", "t", "T", "TRUE", "true", "True"):
        return True
    if text in ("0", "f", "F", "FALSE", "false", "False"):
        return False
    raise WhenError(f'strconv.ParseBool: parsing "{text}": invalid syntax')


def compare(op: str, actual: Any, desired: Any, *, allow_ne: bool = False) -> bool:
    """actual <op> desired for the operators troubleshoot's integer comparisons accept."""
    if op in EQ:
        return bool(actual == desired)
    if allow_ne and op in NE:
        return bool(actual != desired)
    if op == "<":
        return bool(actual < desired)
    if op == ">":
        return bool(actual > desired)
    if op == "<=":
        return bool(actual <= desired)
    if op == ">=":
        return bool(actual >= desired)
    raise WhenError(f"unknown comparator: {op!r}")


# --- cluster analyzers -------------------------------------------------------------------------

def cluster_version(when: str) -> semver.Range:
    try:
        return semver.parse_range(when)
    except semver.SemverError as exc:
        raise WhenError(f"failed to parse semver range: {exc}") from None


def ready_replicas(when: str) -> tuple[str, int]:
    """deploymentStatus / statefulsetStatus: `<op> N` (`absent` is handled by the analyzer)."""
    parts = when.strip().split(" ")
    if len(parts) != 2:
        raise WhenError("unable to parse when range")
    try:
        value = go_atoi(parts[1])
    except WhenError as exc:
        raise WhenError(f"failed to parse when value: {exc}") from None
    if parts[0] not in EQ + ORDER:
        raise WhenError(f"unknown comparator: {parts[0]!r}")
    return parts[0], value


def counter(when: str, fields: tuple[str, ...]) -> tuple[str, str, int]:
    """jobStatus (`succeeded|failed <op> N`) and replicasetStatus (`ready|available <op> N`)."""
    parts = when.strip().split(" ")
    if len(parts) != 3:
        raise WhenError(f"unable to parse when range: {when}")
    try:
        value = go_atoi(parts[2])
    except WhenError as exc:
        raise WhenError(f"failed to parse when value: {parts[2]}: {exc}") from None
    if parts[0] not in fields:
        raise WhenError(f"unknown when value: {parts[0]}")
    if parts[1] not in EQ + ORDER:
        raise WhenError(f"unknown comparator: {parts[1]!r}")
    return parts[0], parts[1], value


def pod_status(when: str) -> tuple[str, str]:
    """clusterPodStatuses: `<op> <Reason|Phase|Healthy>`; an operator other than = or != never matches."""
    parts = when.strip().split(" ")
    if len(parts) < 2:
        raise WhenError(f"invalid 'when' format: {when}")
    return parts[0], parts[1]


def container_runtime(when: str) -> tuple[str, str]:
    parts = when.strip().split(" ")
    if len(parts) != 2:
        raise WhenError("unable to parse conditional")
    return parts[0], parts[1]


def distribution(when: str) -> tuple[str, str]:
    parts = when.strip().split(" ")
    if len(parts) == 1:
        parts = ["=", parts[0]]
    if len(parts) != 2:
        raise WhenError("unable to parse conditional")
    return parts[0], parts[1]


def regex_groups(when: str, found: Mapping[str, str]) -> bool:
    """textAnalyze regexGroups: `<Group> <op> <value>`; numbers compare as numbers, text only with =."""
    if when == "":
        return True
    parts = when.strip().split(" ")
    if len(parts) != 3:
        raise WhenError("unable to parse regex conditional")
    name, op, wanted = parts
    if wanted in ("''", '""'):
        wanted = ""
    if name not in found:
        return False
    actual = found[name]
    if _INT.fullmatch(wanted):
        if not _INT.fullmatch(actual):
            return False
        return compare(op, int(actual), int(wanted)) if op in EQ + ORDER else False
    if op not in EQ:
        raise WhenError(f"unexpected operator {op!r} in regex comparator, cannot compare {actual!r} and {wanted!r}")
    return actual == wanted


def check_regex_groups(when: str) -> None:
    if when == "":
        return
    parts = when.strip().split(" ")
    if len(parts) != 3:
        raise WhenError("unable to parse regex conditional")
    wanted = "" if parts[2] in ("''", '""') else parts[2]
    if _INT.fullmatch(wanted):
        if parts[1] not in EQ + ORDER:
            raise WhenError(f"operator {parts[1]!r} never matches; use one of = == === < > <= >=")
    elif parts[1] not in EQ:
        raise WhenError(f"unexpected operator {parts[1]!r} in regex comparator: text compares only with = or ==")


# --- nodeResources -----------------------------------------------------------------------------

NODE_FUNCTIONS = ("count", "countDistinct", "min", "max", "sum", "nodeCondition")
NODE_PROPERTIES = ("cpuCapacity", "cpuAllocatable", "memoryCapacity", "memoryAllocatable", "podCapacity",
                   "podAllocatable", "ephemeralStorageCapacity", "ephemeralStorageAllocatable",
                   "resourceCapacity", "resourceAllocatable")
_CALL = re.compile(r"(.*)\((.*)\)")


@dataclass(frozen=True)
class NodeWhen:
    function: str
    argument: str
    op: str
    desired: int | str    # an int when the value is a whole number, else the text (a quantity)


def node_resources(when: str) -> NodeWhen:
    parts = when.split()
    if len(parts) == 2:
        parts = ["count", *parts]
    if len(parts) != 3:
        raise WhenError("unable to parse nodeResources conditional")
    call = _CALL.fullmatch(parts[0]) or _CALL.fullmatch("count()")
    assert call is not None
    function, argument, op = call.group(1), call.group(2), parts[1]
    desired: int | str = int(parts[2]) if _INT.fullmatch(parts[2]) else parts[2]
    if function not in NODE_FUNCTIONS:
        raise WhenError(f"unknown function {function}(): expected one of {', '.join(NODE_FUNCTIONS)}")
    if function == "nodeCondition":
        if "=" not in op:
            raise WhenError("nodeCondition function can only be compared using equals expression.")
        if not argument:
            raise WhenError("value function parameter missing.")
        return NodeWhen(function, argument, op, desired)
    if op not in EQ + ORDER:
        raise WhenError("unexpected conditional in nodeResources")
    if function in ("count", "countDistinct"):
        if not isinstance(desired, int):
            raise WhenError(f"{function}() compares with a whole number, not {desired!r}")
    else:
        if argument not in NODE_PROPERTIES:
            raise WhenError(f"unknown property {argument!r} in {function}(): expected one of "
                            f"{', '.join(NODE_PROPERTIES)}")
        if isinstance(desired, str):
            try:
                parse_quantity(desired)
            except QuantityError as exc:
                raise WhenError(str(exc)) from None
    return NodeWhen(function, argument, op, desired)


# --- host analyzers ----------------------------------------------------------------------------

MICROARCHS = {
    "x86-64": ("cmov", "cx8", "fpu", "fxsr", "mmx", "syscall", "sse", "sse2"),
    "x86-64-v2": ("cx16", "lahf_lm", "popcnt", "ssse3", "sse4_1", "sse4_2", "ssse3"),
    "x86-64-v3": ("avx", "avx2", "bmi1", "bmi2", "f16c", "fma", "lzcnt", "movbe", "xsave"),
    "x86-64-v4": ("avx512f", "avx512bw", "avx512cd", "avx512dq", "avx512vl"),
}
_MICROARCH_LEVELS = ("x86-64", "x86-64-v2", "x86-64-v3", "x86-64-v4")


def host_cpu(when: str, logical: int, physical: int, flags: list[str], arch: str) -> bool:
    parts = when.split(" ")
    stat, comparator, desired = "", "", ""
    if len(parts) == 3:
        stat, comparator, desired = parts[0].lower(), parts[1], parts[2]
    elif len(parts) == 2:
        stat, comparator, desired = "count", parts[0], parts[1]
    if comparator.lower() == "supports":
        if desired not in MICROARCHS:
            raise WhenError(f"troubleshoot does not yet support microarchitecture {desired!r}")
        needed = [f for level in _MICROARCH_LEVELS[:_MICROARCH_LEVELS.index(desired) + 1] for f in MICROARCHS[level]]
        return all(f in flags for f in needed)
    if comparator.lower() == "hasflags":
        return all(f in flags for f in desired.split(","))
    if stat not in ("logical", "physical", "count", "machinearch"):
        raise WhenError("unable to parse conditional")
    if stat == "machinearch":
        if comparator in EQ:
            return arch == desired
        if comparator in NE:
            return arch != desired
        raise WhenError("unknown operator")
    if not _INT.fullmatch(desired):
        raise WhenError(f'failed to parse: strconv.ParseInt: parsing "{desired}": invalid syntax')
    actual = {"logical": logical, "physical": physical}.get(stat, max(logical, physical))
    if comparator not in EQ + NE + ORDER:
        raise WhenError("unknown operator")
    return compare(comparator, actual, int(desired), allow_ne=True)


def host_memory(when: str, total: int) -> bool:
    parts = when.split(" ")
    if len(parts) != 2:
        raise WhenError(f"Expected 2 parts in conditional, got {len(parts)}")
    try:
        desired = as_int64(parts[1])
    except QuantityError:
        raise WhenError(f"could not parse quantity {parts[1]!r}") from None
    if desired < 0:
        raise WhenError(f"desired value must be a positive integer, got {desired}")
    if parts[0] not in EQ + ORDER:
        raise WhenError(f"unsupported operator: {parts[0]!r}")
    return compare(parts[0], total, desired)


DISK_STATS = ("total", "used", "available", "used/total", "available/total")


def disk_usage(when: str, total: int, used: int) -> bool:
    parts = when.split(" ")
    if len(parts) != 3:
        raise WhenError(f"conditional must have exactly 3 parts, got {len(parts)}")
    stat, op, desired = parts[0].lower(), parts[1], parts[2]
    if stat not in DISK_STATS:
        raise WhenError(f"unknown disk usage statistic {stat!r}")
    if op not in EQ + ORDER:
        raise WhenError("unknown operator")
    if "/" in stat:
        ratio_text = desired[:-1] if desired.endswith("%") else desired
        try:
            ratio = float(ratio_text) / (100.0 if desired.endswith("%") else 1.0)
        except ValueError:
            raise WhenError(f'parsed desired quantity: strconv.ParseFloat: parsing "{ratio_text}": '
                            "invalid syntax") from None
        part = used if stat == "used/total" else total - used
        return compare(op, part / total if total else float("nan"), ratio)
    try:
        wanted = as_int64(desired)
    except QuantityError:
        raise WhenError(f"could not parse quantity {desired!r}") from None
    actual = {"total": total, "used": used}.get(stat, total - used)
    return compare(op, actual, wanted)


NTP_STATES = ("synchronized+active", "synchronized+inactive", "unsynchronized+active", "unsynchronized+inactive")


def host_time(when: str, timezone: str, synchronized: bool, active: bool) -> bool:
    parts = when.split(" ")
    if len(parts) != 3:
        raise WhenError(f"Expected exactly 3 parts, got {len(parts)}")
    if parts[0] == "timezone":
        if parts[1] not in EQ + ("!=",):
            raise WhenError('Only supported operators are "==" and "!="')
        return (parts[2] != timezone) if parts[1] == "!=" else (parts[2] == timezone)
    if parts[0] == "ntp":
        if parts[1] not in EQ:
            raise WhenError('Only supported operator is "=="')
        if parts[2] not in NTP_STATES:
            raise WhenError(f"Unknown status {parts[2]!r}. Allowed values are "
                            + ", ".join(repr(s) for s in NTP_STATES[:-1]) + f", or {NTP_STATES[-1]!r}")
        wanted_sync, wanted_active = (s == "synchronized" or s == "active" for s in parts[2].split("+"))
        return synchronized == wanted_sync and active == wanted_active
    raise WhenError(f"Unknown keyword: {parts[0]}")


_VERSION_HEAD = re.compile(r"^[0-9]+\.?[0-9]*\.?[0-9]*")


def fix_version(text: str) -> str:
    """troubleshoot's fixVersion: leading zeros off each part, then the leading N[.N[.N]] only."""
    pieces = [p[1:] if p.startswith("0") and p != "0" else p for p in text.split(".")]
    head = _VERSION_HEAD.match(".".join(pieces))
    return (head.group(0) if head else "").rstrip(".")


def host_os_range(when: str) -> tuple[str, semver.Range]:
    """`<platform|platform-version-kernel|kernelVersion> <op> <version> [&&|| <op> <version>]...`"""
    parts = when.split(" ")
    if len(parts) < 3:
        raise WhenError("when condition must have at least 3 parts")
    if len(parts) % 3:
        raise WhenError("when condition must have a multiple of 3 parts, such as 'ubuntu == 20.04' or "
                        "'rhel >= 8 && < 9'")

    def tolerant(text: str) -> str:
        fixed = fix_version(text)
        try:
            return str(semver.parse_tolerant(fixed))
        except semver.SemverError as exc:
            raise WhenError(f"failed to parse version: {fixed}: {exc}") from None

    expression = f"{parts[1]} {tolerant(parts[2])}"
    for i in range(3, len(parts), 3):
        joiner, op, version = parts[i:i + 3]
        if joiner == "||":
            expression += f" || {op} {tolerant(version)}"
        elif joiner == "&&":
            expression += f" {op} {tolerant(version)}"
        else:
            raise WhenError(f"invalid conditional, expected either && or ||, got {joiner!r}")
    try:
        return parts[0], semver.parse_range(expression)
    except semver.SemverError as exc:
        raise WhenError(f"failed to parse version range: {when}: {exc}") from None


def os_version(text: str) -> semver.Version:
    fixed = fix_version(text)
    try:
        return semver.parse_tolerant(fixed)
    except semver.SemverError as exc:
        raise WhenError(f"failed to parse tolerant: {fixed}: {exc}") from None


TCP_STATUSES = ("connected", "connection-refused", "connection-timeout", "address-in-use", "error",
                "bind-permission-denied", "invalid-address")


def http_condition(when: str) -> Callable[[int | None, bool], bool]:
    """host/cluster http: `error`, or a govaluate-style expression over statusCode (== != < <= > >=,
    && || ! and parentheses). The evaluator takes (status or None without a response, had_error)."""
    if when == "error":
        return lambda status, had_error: had_error
    try:
        tree = expression.parse(when.replace(" = ", " == ").replace(" === ", " == "))
    except expression.ExpressionError as exc:
        raise WhenError(str(exc)) from None

    def evaluate(status: int | None, had_error: bool) -> bool:
        if status is None:
            return False
        try:
            value = tree({"statusCode": status})
        except expression.ExpressionError as exc:
            raise WhenError(str(exc)) from None
        if not isinstance(value, bool):
            raise WhenError("expression did not evaluate to a boolean value")
        return value

    return evaluate


def http_variables(when: str) -> set[str]:
    try:
        return expression.variables(when.replace(" = ", " == "))
    except expression.ExpressionError as exc:
        raise WhenError(str(exc)) from None
