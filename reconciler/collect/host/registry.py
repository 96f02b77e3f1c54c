"""registryImages: does each of `images` have a manifest in its registry? (troubleshoot
pkg/collect/host_registry.go and registry.go, RegistryInfo {images: {<image>: {exists, error?}}}),
written to host-collectors/registry-images/<collectorName|images>.json.

The registry API is asked as go-containerregistry's remote.Get asks it: GET /v2/<repo>/manifests/<tag
or digest>, answering a Bearer challenge with a token from its realm (or a Basic one), with
`username`/`password` when given. 200 is exists; 404 MANIFEST_UNKNOWN is exists: false; anything
else (NAME_UNKNOWN, a refusal, an unreachable registry) is the image's `error`. Unlike troubleshoot,
TLS certificates are verified (troubleshoot skips verification, and would send the password to
whoever answers), and ambient credentials (~/.docker/config.json) are not read. Loopback and
private (RFC 1918) registries are spoken to over plain http, as go-containerregistry does.
"""
from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from typing import Any

import requests

from .. import CollectContext, CollectorSpec
from .limits import Deadline, stop_if_cancelled
from ..params import bundle_path, collector_name, text, texts

DOCKER_HUB = "index.docker.io"
REQUEST_SECONDS = 10.0   # troubleshoot's per-image deadline
_ACCEPT = ", ".join([
    "application/vnd.oci.image.index.v1+json", "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
    "application/vnd.docker.distribution.manifest.v2+json",
    "application/vnd.docker.distribution.manifest.v1+prettyjws"])
_REPO = re.compile(r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*")
_TAG = re.compile(r"[\w][\w.-]{0,127}")
_DIGEST = re.compile(r"sha256:[0-9a-f]{64}")
_CHALLENGE = re.compile(r'(\w+)="([^"]*)"')


@dataclass(frozen=True)
class ImageRef:
    registry: str
    repository: str
    reference: str   # a tag or a digest

    @property
    def scheme(self) -> str:
        host = self.registry.rsplit(":", 1)[0].strip("[]") if self.registry.count(":") <= 1 else self.registry
        if host == "localhost":
            return "http"
        try:
            address = ipaddress.ip_address(host)
        except ValueError:
            return "https"
        return "http" if address.is_loopback or address.is_private else "https"


def registry_images(spec: CollectorSpec, ctx: CollectContext) -> None:
    username, password = text(spec.params, "username"), text(spec.params, "password")
    auth = (username, password) if username else None
    images: dict[str, dict[str, Any]] = {}
    with requests.Session() as session:
        session.trust_env = True   # HTTP(S)_PROXY and NO_PROXY, as Go's default transport reads them
        for image in texts(spec.params, "images") or []:
            images[image] = check_image(session, image, auth, Deadline(ctx, REQUEST_SECONDS))
    stop_if_cancelled(ctx)
    name = collector_name(spec, "images")
    ctx.output.write_json(bundle_path("host-collectors/registry-images", name + ".json"), {"images": images})


def parse_image(image: str) -> ImageRef:
    """go-containerregistry's name.ParseReference: Docker Hub and `library/` by default, tag `latest`."""
    rest, reference = image, "latest"
    if "@" in rest:
        rest, reference = rest.split("@", 1)
        if not _DIGEST.fullmatch(reference):
            raise ValueError(f"failed to parse image name {image}: could not parse reference: {image}")
    else:
        last = rest.rsplit("/", 1)[-1]
        if ":" in last:
            rest, reference = rest[: len(rest) - len(last)] + last.split(":", 1)[0], last.split(":", 1)[1]
            if not _TAG.fullmatch(reference):
                raise ValueError(f"failed to parse image name {image}: could not parse reference: {image}")
    first, slash, remainder = rest.partition("/")
    if slash and ("." in first or ":" in first or first == "localhost"):
        registry, repository = first, remainder
    else:
        registry, repository = DOCKER_HUB, rest
    if registry == DOCKER_HUB and "/" not in repository:
        repository = "library/" + repository
    if not _REPO.fullmatch(repository):
        raise ValueError(f"failed to parse image name {image}: could not parse reference: {image}")
    return ImageRef(registry, repository, reference)


def check_image(session: requests.Session, image: str, auth: tuple[str, str] | None,
                deadline: Deadline) -> dict[str, Any]:
    try:
        ref = parse_image(image)
    except ValueError as exc:
        return {"exists": False, "error": str(exc)}
    url = f"{ref.scheme}://{ref.registry}/v2/{ref.repository}/manifests/{ref.reference}"
    try:
        response = _get_manifest(session, url, ref, auth, deadline)
    except (requests.RequestException, TimeoutError) as exc:
        return {"exists": False, "error": f"failed to get image manifest: Get {url}: {_reason(exc)}"}
    if response.status_code == 200:
        return {"exists": True}
    codes = _error_codes(response)
    if response.status_code == 404 and "MANIFEST_UNKNOWN" in codes and "NAME_UNKNOWN" not in codes:
        return {"exists": False}
    detail = "; ".join(codes) or response.reason or str(response.status_code)
    return {"exists": False, "error": f"failed to get image manifest: GET {url}: {response.status_code} {detail}"}


def _get_manifest(session: requests.Session, url: str, ref: ImageRef, auth: tuple[str, str] | None,
                  deadline: Deadline) -> requests.Response:
    headers = {"Accept": _ACCEPT}
    response = session.get(url, headers=headers, timeout=_seconds(deadline), allow_redirects=True)
    challenge = response.headers.get("WWW-Authenticate", "")
    if response.status_code != 401 or not challenge:
        return response
    scheme = challenge.split(" ", 1)[0].lower()
    if scheme == "basic":
        return session.get(url, headers=headers, auth=auth, timeout=_seconds(deadline))
    if scheme != "bearer":
        return response
    params = dict(_CHALLENGE.findall(challenge))
    realm = params.pop("realm", "")
    params.setdefault("scope", f"repository:{ref.repository}:pull")
    token_response = session.get(realm, params=params, auth=auth, timeout=_seconds(deadline))
    if token_response.status_code != 200:
        return token_response
    body = token_response.json()
    token = body.get("token") or body.get("access_token") if isinstance(body, dict) else None
    if not isinstance(token, str):
        return token_response
    return session.get(url, headers={**headers, "Authorization": f"Bearer {token}"}, timeout=_seconds(deadline))


def _error_codes(response: requests.Response) -> list[str]:
    """The registry API's error codes in a response body ({"errors": [{"code": ...}]})."""
    try:
        body = response.json()
    except ValueError:
        return []
    errors = body.get("errors") if isinstance(body, dict) else None
    return [str(e.get("code")) for e in errors if isinstance(e, dict)] if isinstance(errors, list) else []


def _seconds(deadline: Deadline) -> float:
    deadline.check("registry request")
    return max(deadline.remaining(), 0.001)


def _reason(exc: Exception) -> str:
    """The failure in a few words, never the request's headers or credentials."""
    if isinstance(exc, requests.ConnectionError) and "Connection refused" in str(exc):
        return "connect: connection refused"
    if isinstance(exc, (requests.Timeout, TimeoutError)):
        return "context deadline exceeded"
    return type(exc).__name__
