"""Typed schedule specs: the parts of a stored schedule that sbsched itself decides on, read once.

Why in manifest/: a spec's shape and its defaults are the manifest schema's, compiled by
manifest/normalize.py, and everything that reads a stored spec (plan/, run/, daemon/, k8s/, cli/) sits
above manifest/, while store/ below keeps JSON and must not know what a schedule is. state.json keeps
the JSON form byte for byte (design §6): `ScheduleSpec.from_json` is the one place a spec taken out of
the state is completed with the schema's defaults (a default added by a newer sbsched included), and
`to_json` gives that completed JSON back, so nothing below has to type a default out by hand again.

The troubleshoot-shaped sections (collect, redact, analyze, notify) stay JSON in `document`: their
stages read them as troubleshoot does, and they are validated by the schema and the spec reader.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Any, Mapping

from .normalize import fill_defaults


@dataclass(frozen=True)
class Policy:
    """policy: how runs start, stop and retry (Kubernetes CronJob meanings)."""

    concurrency: str                          # Forbid | Allow | Replace
    starting_deadline_seconds: int | None
    timeout_seconds: int
    retries: int
    backoff_seconds: float
    jitter_seconds: int

    @classmethod
    def from_json(cls, policy: Mapping[str, Any]) -> Policy:
        """From a stored spec's `policy`, read alone where the whole spec is not needed (the daemon)."""
        policy = fill_defaults(policy, "policy")
        return cls(policy["concurrency"], policy["startingDeadlineSeconds"], policy["timeoutSeconds"],
                   policy["retries"], policy["backoffSeconds"], policy["jitterSeconds"])


@dataclass(frozen=True)
class Retention:
    """retention: what of a schedule's runs to keep (run/retention.py applies it)."""

    keep_last: int
    keep_failed: int
    max_age_days: float   # 0: no age limit; cleanup --older-than may ask for part of a day

    @classmethod
    def from_json(cls, retention: Mapping[str, Any]) -> Retention:
        retention = fill_defaults(retention, "retention")
        return cls(int(retention["keepLast"]), int(retention["keepFailed"]), int(retention["maxAgeDays"]))


@dataclass(frozen=True)
class Upload:
    """upload: where a finished bundle goes. `options` and `credentials` are the scheme's (credentials
    are references, resolved at run time by upload/credentials.py, never values)."""

    url: str
    options: Mapping[str, Any]
    credentials: Mapping[str, Any]


@dataclass(frozen=True)
class Limits:
    max_bundle_size_bytes: int | None
    min_free_disk_bytes: int | None


@dataclass(frozen=True)
class ScheduleSpec:
    """A stored schedule's spec. Each typed part is read when first asked for: a view or a plan that
    wants only the JSON never reads (and never trips over) a part a hand edit broke, as before types."""

    document: Mapping[str, Any]   # the whole spec as JSON, defaults filled

    @classmethod
    def from_json(cls, spec: Mapping[str, Any]) -> ScheduleSpec:
        """From a spec as stored (normalized when applied): every schema default filled in once, here."""
        return cls(fill_defaults(spec))

    def to_json(self) -> dict[str, Any]:
        """The spec as JSON, defaults filled (what a view shows and a plan compares)."""
        return dict(self.document)

    @cached_property
    def policy(self) -> Policy:
        return Policy.from_json(self.document["policy"])

    @cached_property
    def retention(self) -> Retention:
        return Retention.from_json(self.document["retention"])

    @cached_property
    def upload(self) -> Upload | None:
        """None: the schedule keeps its bundles locally only."""
        upload = self.document.get("upload") or {}
        return Upload(upload["url"], upload["options"], upload["credentials"]) if upload.get("url") else None

    @cached_property
    def limits(self) -> Limits:
        limits = self.document.get("limits") or {}
        return Limits(limits.get("maxBundleSizeBytes"), limits.get("minFreeDiskBytes"))

    @cached_property
    def age_recipients(self) -> tuple[str, ...]:
        """encrypt.ageRecipients; (): bundles are not encrypted."""
        return tuple((self.document.get("encrypt") or {}).get("ageRecipients") or ())
