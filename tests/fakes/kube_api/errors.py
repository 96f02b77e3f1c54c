"""The API server's errors as the real one writes them: a `Status` object with the HTTP code, a machine
reason and the exact message wording, because clients (and our code) match on both."""
from __future__ import annotations

from typing import Any


def qualified(group: str, plural: str) -> str:
    """`pods` for the core group, `deployments.apps` otherwise, as Kubernetes names a group-resource."""
    return f"{plural}.{group}" if group else plural


class ApiError(Exception):
    """An error answer: raised anywhere while serving a request, written as a `Status` by the handler."""

    def __init__(self, code: int, reason: str, message: str, details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.reason = reason
        self.message = message
        self.details = details

    def status(self) -> dict[str, Any]:
        body: dict[str, Any] = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                                "message": self.message, "reason": self.reason}
        if self.details is not None:
            body["details"] = self.details
        body["code"] = self.code
        return body


def _details(group: str, plural: str, name: str | None) -> dict[str, Any]:
    """StatusDetails, empty fields left out as Go's omitempty does; `kind` holds the plural resource, as
    apierrors.NewNotFound and NewForbidden put it."""
    details = {"name": name, "group": group, "kind": plural}
    return {key: value for key, value in details.items() if value}


def not_found(group: str, plural: str, name: str) -> ApiError:
    return ApiError(404, "NotFound", f'{qualified(group, plural)} "{name}" not found',
                    _details(group, plural, name))


def no_such_route() -> ApiError:
    return ApiError(404, "NotFound", "the server could not find the requested resource", {})


def already_exists(group: str, plural: str, name: str) -> ApiError:
    return ApiError(409, "AlreadyExists", f'{qualified(group, plural)} "{name}" already exists',
                    _details(group, plural, name))


def bad_request(message: str) -> ApiError:
    return ApiError(400, "BadRequest", message)


def invalid(kind: str, field: str, problem: str) -> ApiError:
    """A validation failure (422) of an unnamed object, such as a pod without name or generateName."""
    return ApiError(422, "Invalid", f'{kind} "" is invalid: {field}: {problem}')


def expired() -> ApiError:
    """A continue token too old to read from (etcd has compacted its revision): the apiserver's 410."""
    return ApiError(410, "Expired", "The provided continue parameter is too old to display a consistent list "
                    "result. You can start a new list without the continue parameter, or use the continue token "
                    "in this response to retrieve the remainder of the results. Continuing with the provided token "
                    "results in an inconsistent list - objects that were created, modified, or deleted between the "
                    "time the first chunk was returned and now may show up in the list.", {})


def too_many_requests(retry_after: int) -> ApiError:
    """API Priority and Fairness's refusal of a request over its priority level's concurrency."""
    return ApiError(429, "TooManyRequests", "Too many requests, please try again later.",
                    {"retryAfterSeconds": retry_after})


def method_not_allowed(message: str) -> ApiError:
    return ApiError(405, "MethodNotAllowed", message, {})


def forbidden(user: str, verb: str, group: str, resource: str, namespace: str | None,
              name: str | None) -> ApiError:
    """RBAC's refusal, worded like the apiserver's authorization filter (`resource` may be `pods/log`)."""
    plural = resource.split("/")[0]
    where = f'in the namespace "{namespace}"' if namespace else "at the cluster scope"
    reason = f'User "{user}" cannot {verb} resource "{resource}" in API group "{group}" {where}'
    subject = f'{qualified(group, plural)} "{name}"' if name else qualified(group, plural)
    return ApiError(403, "Forbidden", f"{subject} is forbidden: {reason}", _details(group, plural, name))


def unsupported_media_type(media_type: str) -> ApiError:
    return ApiError(415, "UnsupportedMediaType", f'the body of the request was in an unknown format - accepted '
                    f'media types include: application/apply-patch+yaml (got "{media_type}")')
