"""stateMirror: a read-only copy of the state, published for CI to plan against.

```yaml
# <state dir>/config.yaml
stateMirror: s3://ops-bucket/sbsched/            # or gs://..., https://... (PUT), file:///srv/share/
# or, with an upload's options and credential references:
stateMirror:
  url: s3://ops-bucket/sbsched/
  options: {region: eu-west-1}
  credentials: {accessKeyId: {env: MIRROR_KEY_ID}, secretAccessKey: {env: MIRROR_SECRET}}
```

A URL ending in `/` is a prefix: the object is `<prefix>state-mirror.json`. It goes through the uploaders
(reconciler/upload), with their options, credential references and retries, after every apply that
writes the state, and once when the daemon starts. It holds what a plan needs and nothing else: lineage,
serial, basis, each schedule's set and spec (URL credentials masked, as wherever a plan is shown) and
the text of every spec snapshot they reference; no status, no run history, no credential (the state holds
references only, resolved by whoever publishes).

`diff --state URL|PATH` reads a mirror (PATH: the file, or the directory a file:// prefix publishes into)
and plans against it without a lock and without the local state dir, the manifest's specs masked the
same way first. Its plan records the mirror's lineage, serial and basis, which `apply PLAN` on the host
checks against the real state.

Publishes are ordered by mirror.lock.d, and each reads the state anew under it, so the last one after
the last apply carries the last state whatever order concurrent applies finish in. A failed publish is
a warning: the apply stands, and a plan made against the stale mirror is refused by `apply PLAN`.
"""
from __future__ import annotations

import json
import logging
import os
import tempfile
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Mapping

from ..base.documents import decode
from ..base.errors import SbschedError
from ..manifest.normalize import ScheduleSet
from ..base.masking import mask_data
from ..plan.plan import FILES, Plan
from ..plan.spec_snapshots import SnapshotStore, referenced

KIND = "SbschedStateMirror"
FORMAT_VERSION = "1.0"
OBJECT = "state-mirror.json"
SETTING = "stateMirror"
MAX_BYTES = 512 * 1024 * 1024
_URL_SCHEMES = ("s3://", "gs://", "https://", "http://", "file://")

log = logging.getLogger("sbsched.mirror")


class MirrorError(SbschedError):
    """A mirror that cannot be published, read or used."""


@dataclass(frozen=True)
class Mirror:
    url: str
    options: Mapping[str, Any]
    credentials: Mapping[str, Any]

    @property
    def object_url(self) -> str:
        return self.url + OBJECT if self.url.endswith("/") else self.url


def setting_problem(value: Any) -> str | None:
    """Why config.yaml's `stateMirror` value is not one (daemon_config checks every setting), or None."""
    url = value.get("url") if isinstance(value, dict) else value
    if isinstance(value, dict) and not set(value) <= {"url", "options", "credentials"}:
        return "url, options and credentials only"
    if not isinstance(url, str) or not url.startswith(_URL_SCHEMES) or len(url.split("://", 1)[1]) == 0:
        return "a URL (s3://, gs://, https://, http:// or file://), or {url, options, credentials}"
    if isinstance(value, dict) and not all(isinstance(value.get(k) or {}, dict) for k in ("options", "credentials")):
        return "options and credentials as mappings, as an upload's"
    return None


def configured(root: Path) -> Mirror | None:
    """config.yaml's stateMirror, or None. A `{file: PATH}` reference relative to the state dir is made
    absolute, as a manifest's are against the manifest."""
    from ..store.config_files import FILE
    from .config import read

    value = read(root / FILE).get(SETTING)
    if value is None:
        return None
    if isinstance(value, str):
        return Mirror(value, {}, {})
    credentials = {key: {"file": str(root / ref["file"])} if isinstance(ref, dict) and "file" in ref else ref
                   for key, ref in (value.get("credentials") or {}).items()}
    return Mirror(str(value["url"]), dict(value.get("options") or {}), credentials)


def document(state: Mapping[str, Any], store: SnapshotStore) -> dict[str, Any]:
    """The mirror of `state`: no status, no history; every referenced snapshot's text."""
    from ..plan.transitions import state_basis

    texts = {digest: store.read(digest, shown=digest).decode("utf-8") for digest in sorted(referenced(state))}
    return {"kind": KIND, "format_version": FORMAT_VERSION, "lineage": state.get("lineage"),
            "serial": state["serial"], "basis": state_basis(state),
            "schedules": {name: {"set": record["set"], "spec": mask_data(record["spec"])}
                          for name, record in sorted(state["schedules"].items())},
            FILES: texts}


def publish(root: Path) -> str | None:
    """Publish the state of `root` to its stateMirror; the object URL, or None when none is configured.
    MirrorError when it cannot be published."""
    from ..store.dirlock import DirLock
    from ..store.paths import ensure_dir
    from ..store.state import StateStore
    from ..upload import RetryPolicy, UploadRequest, public_url, upload

    mirror = configured(root)
    if mirror is None:
        return None
    lock = DirLock(ensure_dir(root / "mirror.lock.d"))
    if not lock.acquire(120.0):
        raise MirrorError(f"{SETTING}: another publish held mirror.lock.d for 120 s; not published")
    try:
        state = StateStore(root).read()
        body = json.dumps(document(state, SnapshotStore(root)), sort_keys=True, separators=(",", ":"))
        with tempfile.TemporaryDirectory(prefix="sbsched-mirror-") as work:
            archive = Path(work) / OBJECT
            archive.write_text(body, encoding="utf-8")
            outcome = upload(UploadRequest(archive, mirror.object_url, options=mirror.options,
                                           credentials=mirror.credentials, content_type="application/json",
                                           metadata={"serial": str(state["serial"])}),
                             RetryPolicy(retries=2, backoff_seconds=1.0))
    finally:
        lock.release()
    if outcome.status != "uploaded":
        message = (outcome.error or {}).get("message", "failed")
        raise MirrorError(f"{SETTING}: not published to {public_url(mirror.object_url)}: {message}")
    return outcome.url


def publish_quietly(root: Path) -> None:
    """`publish`, its failure a warning: the state it mirrors is written already and stands."""
    try:
        url = publish(root)
    except (SbschedError, OSError) as exc:
        log.warning("%s", getattr(exc, "message", None) or exc)
        return
    if url is not None:
        log.info("published the state to %s", url)


def fetch(source: str) -> dict[str, Any]:
    """The mirror document at a URL, a file, or the directory of a file:// mirror; MirrorError (exit 2)
    when it cannot be read or is not a mirror."""
    from ..upload import UploadError, UploadRequest, fetch as download, public_url

    if "://" not in source:
        path = Path(source) / OBJECT if os.path.isdir(source) else Path(source)
        source = path.absolute().as_uri()
    elif source.endswith("/"):
        source += OBJECT
    try:
        raw = download(UploadRequest(Path(os.devnull), source), limit=MAX_BYTES)
    except UploadError as exc:
        raise MirrorError(f"--state: cannot read the state mirror: {exc.message}") from None
    document: dict[str, Any] = decode(raw, limit=MAX_BYTES, what=f"--state {public_url(source)}",
                                      kind="state mirror", problem=_shape_problem, error=MirrorError,
                                      hint=f"config.yaml's {SETTING} on the host publishes one")
    return document


def _shape_problem(doc: Any) -> str | None:
    if not isinstance(doc, dict) or doc.get("kind") != KIND:
        return f"kind is not {KIND}"
    if str(doc.get("format_version", "")).split(".")[0] != "1":
        return f"format_version {doc.get('format_version')!r}: this sbsched reads 1.x"
    schedules, texts = doc.get("schedules"), doc.get(FILES)
    if not (isinstance(doc.get("serial"), int) and isinstance(doc.get("basis"), str) and isinstance(texts, dict)
            and all(isinstance(t, str) for t in texts.values()) and isinstance(schedules, dict)
            and all(isinstance(r, dict) and isinstance(r.get("set"), str) and isinstance(r.get("spec"), dict)
                    for r in schedules.values())):
        return "serial, basis, schedules or specFiles missing or of the wrong type"
    return None


def plan_against_mirror(source: str, desired: ScheduleSet, *, allow_empty: bool) -> Plan:
    """The plan of snapshotted `desired` against the mirror at `source`, both sides' specs masked alike."""
    from ..plan.transitions import plan_against

    doc = fetch(source)
    state = {"serial": doc["serial"], "lineage": doc.get("lineage"), "schedules": doc["schedules"]}
    masked = replace(desired, schedules={name: mask_data(spec) for name, spec in desired.schedules.items()})
    contents = {digest: text.encode("utf-8") for digest, text in doc[FILES].items()}
    return plan_against(state, masked, allow_empty=allow_empty, contents=contents, basis=doc["basis"])
