"""Semantic versions and ranges with the rules of github.com/blang/semver/v4, which troubleshoot's
clusterVersion and hostOS analyzers use: `>= 1.28.0`, `>=1.20.0 <1.30.0`, `<1.16.0 || >=2.0.0`, `1.2.x`.

A space after a comparator is allowed (`< 1.13.0`); versions in a range must be complete
(MAJOR.MINOR.PATCH); pre-releases sort before their release (so 1.27.3-gke.100 < 1.27.3, as in
troubleshoot); build metadata is ignored. Pure.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable

_NUMERIC = re.compile(r"[0-9]+")
_ALNUM = re.compile(r"[0-9A-Za-z-]+")


class SemverError(ValueError):
    """Not a version or not a range; the message follows blang/semver's."""


@dataclass(frozen=True)
class Version:
    major: int
    minor: int
    patch: int
    pre: tuple[int | str, ...] = ()

    def key(self) -> tuple[int, int, int, int, tuple[tuple[int, int | str], ...]]:
        # a release sorts after its pre-releases; numeric identifiers before alphanumeric ones
        pre = tuple((0, p) if isinstance(p, int) else (1, p) for p in self.pre)
        return (self.major, self.minor, self.patch, 0 if self.pre else 1, pre)

    def compare(self, other: Version) -> int:
        a, b = self.key(), other.key()
        return (a > b) - (a < b)

    def __str__(self) -> str:
        text = f"{self.major}.{self.minor}.{self.patch}"
        return text + ("-" + ".".join(str(p) for p in self.pre) if self.pre else "")


def _number(text: str, what: str) -> int:
    if not text or not _NUMERIC.fullmatch(text):
        raise SemverError(f"Invalid character(s) found in {what} number {text!r}")
    if len(text) > 1 and text.startswith("0"):
        raise SemverError(f"{what.capitalize()} number must not contain leading zeroes {text!r}")
    return int(text)


def parse(text: str) -> Version:
    """Strict MAJOR.MINOR.PATCH[-PRE][+BUILD], as semver.Parse."""
    if not text:
        raise SemverError("Version string empty")
    parts = text.split(".", 2)
    if len(parts) != 3:
        raise SemverError("No Major.Minor.Patch elements found")
    major, minor = _number(parts[0], "major"), _number(parts[1], "minor")
    rest = parts[2]
    build: list[str] = []
    if "+" in rest:
        rest, _, meta = rest.partition("+")
        build = meta.split(".")
    pre_text: list[str] = []
    if "-" in rest:
        rest, _, pre = rest.partition("-")
        pre_text = pre.split(".")
    patch = _number(rest, "patch")
    pre_ids: list[int | str] = []
    for ident in pre_text:
        if not ident:
            raise SemverError("Prerelease is empty")
        if _NUMERIC.fullmatch(ident):
            if len(ident) > 1 and ident.startswith("0"):
                raise SemverError(f"Numeric PreRelease version must not contain leading zeroes {ident!r}")
            pre_ids.append(int(ident))
        elif _ALNUM.fullmatch(ident):
            pre_ids.append(ident)
        else:
            raise SemverError(f"Invalid character(s) found in prerelease {ident!r}")
    for meta_id in build:
        if not meta_id:
            raise SemverError("Build meta data is empty")
        if not _ALNUM.fullmatch(meta_id):
            raise SemverError(f"Invalid character(s) found in build meta data {meta_id!r}")
    return Version(major, minor, patch, tuple(pre_ids))


def parse_tolerant(text: str) -> Version:
    """semver.ParseTolerant: trims spaces and a leading v, drops leading zeroes, fills 1.2 to 1.2.0."""
    text = text.strip()
    text = text[1:] if text.startswith("v") else text
    parts = text.split(".", 2)
    for i, part in enumerate(parts):
        if len(part) > 1:
            part = part.lstrip("0")
            if not part or not part[0].isdigit():
                part = "0" + part
            parts[i] = part
    if len(parts) < 3:
        if any(c in parts[-1] for c in "+-"):
            raise SemverError("Short version cannot contain PreRelease/Build meta data")
        parts += ["0"] * (3 - len(parts))
    return parse(".".join(parts))


def parse_kubernetes(git_version: str) -> Version:
    """A cluster's gitVersion as troubleshoot reads it: EKS's `-eks-` pre-release dropped, `v` trimmed."""
    if "-eks-" in git_version:
        git_version = git_version.split("-")[0]
    return parse(git_version.lstrip("v"))


Range = Callable[[Version], bool]

_COMPARATORS: dict[str, Callable[[int], bool]] = {
    "": lambda c: c == 0, "=": lambda c: c == 0, "==": lambda c: c == 0,
    "!": lambda c: c != 0, "!=": lambda c: c != 0,
    ">": lambda c: c > 0, ">=": lambda c: c >= 0, "<": lambda c: c < 0, "<=": lambda c: c <= 0,
}


def _split_and_trim(text: str) -> list[str]:
    """Split on spaces, except a space that follows a comparator character (`>= 1.2.3` is one part);
    blang drops one-character pieces, and so does this."""
    parts: list[str] = []
    last, last_char = 0, ""
    for i, ch in enumerate(text):
        if ch == " " and last_char not in (">", "<", "="):
            if last < i - 1:
                parts.append(text[last:i])
            last = i + 1
        elif ch != " ":
            last_char = ch
    if last < len(text) - 1:
        parts.append(text[last:])
    return [p.replace(" ", "") for p in parts]


def _split_comparator(part: str, whole: str) -> tuple[str, str]:
    for i, ch in enumerate(part):
        if ch.isdigit():
            return part[:i].strip(), part[i:]
    raise SemverError(f"Could not get version from string: {part!r}")


def _expand_wildcard(part: str, whole: str) -> list[str]:
    """`1.2.x` → `>=1.2.0 <1.3.0`, `1.x` → `>=1.0.0 <2.0.0`, `>1.x` → `>=2.0.0`, `<=1.2.x` → `<1.3.0`."""
    op, version = _split_comparator(part, whole)
    pieces = version.split(".")
    if pieces[-1] != "x" or len(pieces) not in (2, 3) or not pieces[0].isdigit():
        raise SemverError(f"Could not parse version {version!r} in {whole!r}")
    if len(pieces) == 2 or pieces[1] == "x":
        flat, bumped = f"{pieces[0]}.0.0", f"{int(pieces[0]) + 1}.0.0"
    elif pieces[1].isdigit():
        flat, bumped = f"{pieces[0]}.{pieces[1]}.0", f"{pieces[0]}.{int(pieces[1]) + 1}.0"
    else:
        raise SemverError(f"Could not parse version {version!r} in {whole!r}")
    expansions = {">": [">=" + bumped], ">=": [">=" + flat], "<": ["<" + flat], "<=": ["<" + bumped],
                  "": [">=" + flat, "<" + bumped], "=": [">=" + flat, "<" + bumped],
                  "==": [">=" + flat, "<" + bumped]}
    if op not in expansions:   # blang turns `!=1.2.x` into a range nothing satisfies; refuse it instead
        raise SemverError(f"Could not parse comparator {op!r} in {whole!r}")
    return expansions[op]


def parse_range(text: str) -> Range:
    """A range as semver.ParseRange reads it; raises SemverError with blang's wording."""
    parts = _split_and_trim(text)
    groups: list[list[str]] = [[]]
    for i, part in enumerate(parts):
        if part == "||":
            if i == 0 or i == len(parts) - 1 or parts[i - 1] == "||":
                raise SemverError(f"Invalid OR separator in {text!r}")
            groups.append([])
        else:
            groups[-1].append(part)
    if not parts:
        raise SemverError(f"Could not get version from string: {text!r}")
    alternatives: list[list[tuple[Callable[[int], bool], Version]]] = []
    for group in groups:
        checks: list[tuple[Callable[[int], bool], Version]] = []
        for part in group:
            for expanded in (_expand_wildcard(part, part) if "x" in part else [part]):
                op, version_text = _split_comparator(expanded, text)
                if op not in _COMPARATORS:
                    raise SemverError(f"Could not parse comparator {op!r} in {expanded!r}")
                try:
                    version = parse(version_text)
                except SemverError as exc:
                    raise SemverError(f"Could not parse version {version_text!r} in {expanded!r}: {exc}") from None
                checks.append((_COMPARATORS[op], version))
        alternatives.append(checks)

    def matches(v: Version) -> bool:
        return any(all(check(v.compare(bound)) for check, bound in group) for group in alternatives)

    return matches
