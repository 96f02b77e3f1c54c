"""What `create` and `modify` were told to set, as the manifest edit it makes (manifest/edit.py Changes):
the flags are troubleshoot's `schedule create` flags too (troubleshoot_flags.py parses their values)."""
from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

from ..base.errors import UsageError
from . import edit as manifest_edit
from . import troubleshoot_flags as flags
from .normalize import ScheduleDefaults

AUTO_UPLOAD = "enabled"   # troubleshoot's `--upload enabled`: its auto-upload, here the configured default upload


def redaction_mode(redact: bool | None, tokenize: bool) -> str | None:
    """--redact / --no-redact / --tokenize as a manifest_edit.REDACTION mode (None: left as it is)."""
    if tokenize and redact is False:
        raise UsageError("--tokenize redacts (with tokens), --no-redact does not: give one of them")
    if tokenize:
        return "tokenize"
    return None if redact is None else "mask" if redact else "off"


@dataclass(frozen=True)
class Fields:
    """What `create` and `modify` were told to set, as typed (None: not given). The flags are
    troubleshoot's `schedule create` flags too (reconciler/manifest/troubleshoot_flags.py)."""

    cron: str | None = None
    timezone: str | None = None
    namespaces: list[str] | None = None      # -n, repeatable, comma lists
    specs: list[str] | None = None           # -s, repeatable, comma lists
    upload: str | None = None
    redaction: str | None = None             # redaction_mode(--redact/--no-redact, --tokenize)
    enabled: bool | None = None              # -e false: suspend: true
    auto: bool = False                       # collect.auto: troubleshoot's auto-discovery, at each run
    analyze: bool | None = None
    upload_options: list[str] | None = None  # k=v,... for upload.options / upload.credentials
    upload_credentials: str | None = None    # PATH or ENVVAR
    description: str | None = None
    labels: list[str] | None = None          # k=v,...
    template: str | None = None              # create --template NAME

    def changes(self, doc: manifest_edit.Document, name: str, manifest: str) -> manifest_edit.Changes:
        """The manifest edit these fields make to schedule `name` of `doc`."""
        settings = self._upload_settings(doc, name)
        specs = flags.split_list(self.specs)
        return manifest_edit.Changes(
            cron=self.cron, timezone=self.timezone, namespaces=flags.split_list(self.namespaces),
            specs=spec_paths(manifest, specs), upload=self.upload,
            redaction=self.redaction, suspend=None if self.enabled is None else not self.enabled,
            auto=self.auto or None, analyze=self.analyze,
            description=self.description, labels=flags.key_values(self.labels, flag="--labels") or None,
            upload_settings=settings, template=self.template)

    def _upload_settings(self, doc: manifest_edit.Document, name: str) -> dict[str, Any] | None:
        """--upload-options and --upload-credentials for the upload URL the schedule will have."""
        if not self.upload_options and self.upload_credentials is None:
            return None
        url = self.upload
        if url is None and name in manifest_edit.names(doc):
            url = (manifest_edit.find(doc, name).get("upload") or {}).get("url")
        url = url or manifest_edit.default(doc, "upload", "url")
        if not url:
            raise UsageError("--upload-options and --upload-credentials need an upload: give --upload URL")
        settings = flags.upload_settings(flags.key_values(self.upload_options, flag="--upload-options"), url)
        if self.upload_credentials is not None:
            more = flags.upload_credentials(self.upload_credentials, url)
            for section in ("options", "credentials"):
                settings[section].update(more[section])
        return settings


def require_default_upload(doc: manifest_edit.Document, defaults: ScheduleDefaults) -> None:
    """`--upload enabled` needs a default upload: the manifest's `defaults.upload` or the config files'
    defaultUploadConfig (`defaults`; the schedule then names none and gets it). Raises UsageError."""
    if not manifest_edit.default(doc, "upload", "url") and defaults.upload is None:
        raise UsageError("--upload enabled: troubleshoot's auto-upload goes to its vendor portal, which sbsched "
                         "does not have; here it means the default upload, and none is configured",
                         hint="give --upload URL, or set defaultUploadConfig: {endpoint: URL} (with "
                              "autoUploadEnabled: true) in <state-dir>/config.yaml")


def spec_paths(manifest: str, specs: list[str] | None) -> list[str] | None:
    """--spec paths as the manifest holds them: relative to the manifest's directory (absolute stays)."""
    if specs is None:
        return None
    base = os.path.dirname(os.path.abspath(manifest))
    return [s if not s or os.path.isabs(s) else os.path.relpath(os.path.abspath(s), base) for s in specs]
