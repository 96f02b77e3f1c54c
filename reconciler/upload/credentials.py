"""Secret references, resolved at run time and never stored.

A reference is `{env: VAR}` (an environment variable of the process that runs the upload) or
`{file: PATH}` (a file's content, trailing newlines stripped; the manifest loader made PATH absolute).
The manifest and the state hold only the reference; its value lives in memory for one delivery.

Every error names the reference (`env:VAR`, `file:/path`), never its value. A `Secrets` object also
remembers each value it resolved, so that an error message from a library (which might echo a header
or a URL) can be scrubbed before it is recorded or logged.
"""
from __future__ import annotations

from typing import Any, Iterable, Mapping

from .retry import PermanentUploadError

MASK = "***HIDDEN***"
SHORTEST_MASKED = 4   # a shorter value is left in text: masking every "abc" would garble more than it hides


class CredentialError(PermanentUploadError):
    """A reference that cannot be resolved: permanent, naming the reference and where it was used."""


def describe(ref: Mapping[str, Any]) -> str:
    """`env:VAR` or `file:/path`: how a reference is named in messages."""
    if "env" in ref:
        return f"env:{ref['env']}"
    if "file" in ref:
        return f"file:{ref['file']}"
    return "<invalid reference>"


class Secrets:
    """Resolves references against `env` and remembers the values, to scrub them from messages."""

    def __init__(self, env: Mapping[str, str]) -> None:
        self.env = env
        self._values: set[str] = set()

    def resolve(self, ref: Mapping[str, Any], *, what: str) -> str:
        """The value of `ref`; `what` says where it is used (e.g. upload.credentials.secretAccessKey)."""
        if not isinstance(ref, Mapping) or len(ref) != 1 or not ({"env", "file"} & set(ref)):
            raise CredentialError(f"{what}: not a secret reference {{env: VAR}} or {{file: PATH}}")
        if "env" in ref:
            value = self.env.get(str(ref["env"]))
            if value is None or value == "":
                raise CredentialError(f"{what}: environment variable {ref['env']} ({describe(ref)}) is not set")
        else:
            try:
                with open(str(ref["file"]), encoding="utf-8") as handle:
                    value = handle.read().rstrip("\r\n")
            except FileNotFoundError:
                raise CredentialError(f"{what}: {describe(ref)} does not exist") from None
            except (OSError, UnicodeDecodeError) as exc:
                reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else type(exc).__name__
                raise CredentialError(f"{what}: {describe(ref)} cannot be read ({reason})") from None
            if not value:
                raise CredentialError(f"{what}: {describe(ref)} is empty")
        self._values.add(value)
        return value

    def header(self, name: str, value: str | Mapping[str, Any], *, what: str) -> str:
        """A header value: a literal string as it is, a reference resolved (and remembered)."""
        if isinstance(value, str):
            return value
        return self.resolve(value, what=f"{what}.{name}")

    def remember(self, value: str) -> None:
        """A secret obtained otherwise (e.g. from a URL's user info) that messages must not show."""
        if value:
            self._values.add(value)

    def scrub(self, text: str) -> str:
        """`text` with every remembered secret value masked (longest first, so no part survives)."""
        for value in sorted(self._values, key=len, reverse=True):
            if len(value) >= SHORTEST_MASKED:
                text = text.replace(value, MASK)
        return text

    @property
    def values(self) -> frozenset[str]:
        """Every value resolved or remembered so far."""
        return frozenset(self._values)


def resolvable_values(references: Iterable[tuple[str, Mapping[str, Any]]], env: Mapping[str, str]) -> frozenset[str]:
    """The values these (where, reference) pairs resolve to now; one that cannot be resolved is left out,
    for the delivery that uses it reports it."""
    secrets = Secrets(env)
    for where, ref in references:
        try:
            secrets.resolve(ref, what=where)
        except CredentialError:
            continue
    return secrets.values
