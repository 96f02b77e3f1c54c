"""Pure: the flags of troubleshoot's `support-bundle schedule create` (its PRD, section 4.1.1) as manifest
values, so that its command lines work with `sbsched` in front.

- `--labels k=v,...` and `--upload-options k=v,...` are cobra string-to-string maps: comma-separated
  pairs, the flag repeatable. `-s/--spec` and `-n/--namespace` are string slices: repeatable, each value
  a comma-separated list.
- `--upload-options` keys map onto `upload.options` (and `upload.credentials`), written as in the
  manifest or in troubleshoot's kebab-case: `region`, `sse`, `endpoint`, `auth=bearer`, `content-type`...
  A secret given as a literal (`token=...`, which the shell has already expanded from `${TOKEN}`) is
  refused, because the manifest lives in git: `token-env=NAME` and `token-file=PATH` are the reference
  forms. The refusal never repeats the value.
- `--upload-credentials PATH|ENVVAR` becomes a `{file: PATH}` or `{env: ENVVAR}` reference where the
  URL's scheme takes one: a gs:// service-account key file, an https:// bearer token.
"""
from __future__ import annotations

import os
import re
from typing import Any, Iterable

from ..base.errors import UsageError

def split_list(values: Iterable[str] | None) -> list[str] | None:
    """A string slice: `-s a.yaml,b.yaml -s c.yaml` is three; an empty value ('') empties the list."""
    if values is None:
        return None
    out = [part.strip() for value in values for part in value.split(",")]
    return [part for part in out if part] or [""]


def key_values(values: Iterable[str] | None, *, flag: str) -> dict[str, str]:
    """A string-to-string map: `k=v,k2=v2`, the flag repeatable; a later key wins."""
    out: dict[str, str] = {}
    for value in values or []:
        for pair in value.split(","):
            if not pair.strip():
                continue
            key, sep, item = pair.partition("=")
            if not sep or not key.strip():
                shown = key.strip()[:40] if not sep else ""
                raise UsageError(f"{flag}: expected KEY=VALUE pairs separated by commas" +
                                 (f", got {shown!r}" if shown else ""))
            out[key.strip()] = item.strip()
    return out


def _norm(key: str) -> str:
    return re.sub(r"[-_.]", "", key).lower()


# option key (normalized) -> (where it goes: "options.X" / "credentials.X" / "headers.X", schemes)
_S3, _HTTP = ("s3",), ("http", "https")
_PLAIN: dict[str, tuple[str, tuple[str, ...]]] = {
    "region": ("options.region", _S3),
    "sse": ("options.serverSideEncryption", _S3), "serversideencryption": ("options.serverSideEncryption", _S3),
    "kmskeyid": ("options.kmsKeyId", _S3), "ssekmskeyid": ("options.kmsKeyId", _S3),
    "endpoint": ("options.endpointUrl", _S3), "endpointurl": ("options.endpointUrl", _S3),
    "storageclass": ("options.storageClass", _S3),
    "profile": ("credentials.profile", _S3),
    "method": ("options.method", _HTTP),
    "contenttype": ("headers.Content-Type", _HTTP),
    "cafile": ("options.caFile", _HTTP),
}
_SECRETS: dict[str, tuple[str, tuple[str, ...]]] = {   # each only as <key>-env=NAME or <key>-file=PATH
    "token": ("options.bearerToken", _HTTP), "bearertoken": ("options.bearerToken", _HTTP),
    "accesskeyid": ("credentials.accessKeyId", _S3), "secretaccesskey": ("credentials.secretAccessKey", _S3),
    "sessiontoken": ("credentials.sessionToken", _S3),
}
KNOWN_KEYS = ("region, sse, kms-key-id, endpoint, storage-class, profile, access-key-id-env, secret-access-key-env, "
              "session-token-env (s3://); method, content-type, ca-file, auth=bearer, token-env, token-file, "
              "header.NAME (https://); each -env key also as -file")
_SECRET_WORDS = re.compile(r"pass|secret|token|key|credential|auth|cookie", re.I)
_AUTH = ("bearer", "none")


def upload_settings(pairs: dict[str, str], url: str) -> dict[str, Any]:
    """`--upload-options` as {"options": {...}, "credentials": {...}} for an upload to `url`."""
    scheme = url.split("://", 1)[0].lower() if "://" in url else ""
    options: dict[str, Any] = {}
    credentials: dict[str, Any] = {}
    headers: dict[str, Any] = {}
    targets = {"options": options, "credentials": credentials, "headers": headers}
    auth = None
    for key, value in pairs.items():
        norm = _norm(key)
        if norm == "auth":
            auth = value.lower()
            if auth not in _AUTH:
                raise UsageError(f"--upload-options auth={value}: expected auth=bearer (with token-env=NAME or "
                                 "token-file=PATH) or auth=none", hint="other schemes: header.NAME=VALUE, or "
                                 "credentials in the URL's scheme (s3: access-key-id-env=..., profile=...)")
            continue
        reference = next((kind for kind in ("env", "file") if norm.endswith(kind) and norm[:-len(kind)] in _SECRETS),
                         None)
        if reference is not None:
            where, schemes = _SECRETS[norm[:-len(reference)]]
            value = value if reference == "env" else os.path.abspath(os.path.expanduser(value))
            _check_scheme(key, schemes, scheme)
            _put(targets, where, {reference: value})
        elif norm in _SECRETS:
            raise UsageError(f"--upload-options {key}=...: a literal secret would be written into the manifest, "
                             "which is kept in git; the value was not used",
                             hint=f"pass a reference instead: {key}-env=NAME (an environment variable of the daemon) "
                                  f"or {key}-file=PATH (a file holding it)")
        elif norm in _PLAIN:
            where, schemes = _PLAIN[norm]
            _check_scheme(key, schemes, scheme)
            _put(targets, where, value.upper() if norm == "method" else value)
        elif key.lower().startswith("header."):
            name = key[len("header."):]
            if _SECRET_WORDS.search(name):
                raise UsageError(f"--upload-options {key}=...: a header named like a secret would be written into "
                                 "the manifest literally; the value was not used",
                                 hint="write it in the manifest as options.headers: {NAME: {env: VAR}}, or use "
                                      "auth=bearer,token-env=NAME")
            _check_scheme(key, _HTTP, scheme)
            headers[name] = value
        else:
            raise UsageError(f"--upload-options: unknown key {key!r}", hint=f"known keys: {KNOWN_KEYS}")
    if auth == "bearer" and "bearerToken" not in options:
        raise UsageError("--upload-options auth=bearer needs the token: token-env=NAME or token-file=PATH")
    if headers:
        options["headers"] = headers
    return {"options": options, "credentials": credentials}


def _check_scheme(key: str, schemes: tuple[str, ...], scheme: str) -> None:
    if scheme not in schemes:
        names = " or ".join(f"{s}://" for s in schemes)
        raise UsageError(f"--upload-options {key}: an option of {names} uploads, not of {scheme or 'this'}://")


def _put(targets: dict[str, dict[str, Any]], where: str, value: Any) -> None:
    section, _, key = where.partition(".")
    targets[section][key] = value


_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def upload_credentials(given: str, url: str) -> dict[str, Any]:
    """`--upload-credentials PATH|ENVVAR` as {"options": ..., "credentials": ...} for `url`: a file for
    gs:// (the service-account key), a file or an environment variable for http(s):// (a bearer token).
    A value is a variable when it is a variable's name and no file of that name exists here."""
    scheme = url.split("://", 1)[0].lower() if "://" in url else ""
    is_env = bool(_ENV_NAME.fullmatch(given)) and not os.path.exists(given)
    ref = {"env": given} if is_env else {"file": os.path.abspath(os.path.expanduser(given))}
    if scheme == "gs":
        if is_env:
            raise UsageError(f"--upload-credentials {given}: a gs:// upload takes a service-account key file "
                             "(PATH), not a variable", hint="or leave it out: Google's default chain")
        return {"options": {}, "credentials": {"serviceAccountFile": ref["file"]}}
    if scheme in _HTTP:
        return {"options": {"bearerToken": ref}, "credentials": {}}
    if scheme == "s3":
        raise UsageError(f"--upload-credentials: an s3:// upload names its credentials in --upload-options: "
                         "access-key-id-env=VAR,secret-access-key-env=VAR or profile=NAME",
                         hint="or leave them out: boto3's default chain (AWS_* variables, ~/.aws, instance role)")
    raise UsageError(f"--upload-credentials: a {scheme or 'missing'}:// upload takes no credentials")
