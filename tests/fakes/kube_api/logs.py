"""Container logs, served as the kubelet serves them: `tailLines`, `limitBytes`, `sinceSeconds`/
`sinceTime` and `timestamps` are applied here, on the server, as a stream of chunks.

A log is text, bytes, or a zero-argument callable giving an iterator of byte chunks: a benchmark's
100 MB log is produced chunk by chunk and never held; only `tailLines` keeps the last N lines. A line
that starts with an RFC3339 timestamp is dated by it for `since*`; a line without one always passes,
and `timestamps` gives it the time of the request."""
from __future__ import annotations

import re
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Union

LogSource = Union[str, bytes, Callable[[], Iterable[bytes]]]

CHUNK = 64 * 1024
_RFC3339 = r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:\d{2})"
_TIMESTAMP = re.compile(rb"^(" + _RFC3339.encode() + rb")(?:\s|$)")


@dataclass(frozen=True)
class LogOptions:
    tail_lines: int | None = None
    limit_bytes: int | None = None
    since: datetime | None = None
    timestamps: bool = False

    @property
    def by_line(self) -> bool:
        return self.tail_lines is not None or self.since is not None or self.timestamps


def parse_time(text: str) -> datetime:
    """An RFC3339 time (nanoseconds allowed) as an aware datetime; ValueError when it is not one."""
    if re.fullmatch(_RFC3339, text) is None:
        raise ValueError(f"not an RFC3339 time: {text!r}")
    return datetime.fromisoformat(text)   # since 3.11: `Z`, and digits past microseconds dropped


def since_from(seconds: int | None, time: str | None, now: datetime) -> datetime | None:
    if seconds is not None:
        return now - timedelta(seconds=seconds)
    return parse_time(time) if time is not None else None


def streamed(source: LogSource) -> bool:
    """Whether the answer is sent chunked (a generator's length is not known up front)."""
    return callable(source)


def file_source(path: Path) -> Callable[[], Iterator[bytes]]:
    def read() -> Iterator[bytes]:
        with path.open("rb") as file:
            while chunk := file.read(CHUNK):
                yield chunk
    return read


def render(source: LogSource, options: LogOptions, now: datetime) -> Iterator[bytes]:
    """The log as the API answers it for these options, in chunks."""
    chunks = _chunks(source)
    if options.by_line:
        lines = _lines(chunks)
        if options.since is not None:
            lines = _since(lines, options.since)
        if options.tail_lines is not None:
            lines = iter(deque(lines, maxlen=options.tail_lines))
        if options.timestamps:
            stamp = now.strftime("%Y-%m-%dT%H:%M:%S.%fZ").encode() + b" "
            lines = (line if _TIMESTAMP.match(line) else stamp + line for line in lines)
        chunks = _batched(lines)
    if options.limit_bytes is not None:
        chunks = _limited(chunks, options.limit_bytes)
    return chunks


def _chunks(source: LogSource) -> Iterator[bytes]:
    if isinstance(source, str):
        source = source.encode()
    if isinstance(source, bytes):
        return iter([source])
    return (bytes(chunk) for chunk in source() if chunk)


def _lines(chunks: Iterator[bytes]) -> Iterator[bytes]:
    """Lines with their newline kept (the last one may lack it)."""
    rest = b""
    for chunk in chunks:
        *complete, rest = (rest + chunk).split(b"\n")
        for line in complete:
            yield line + b"\n"
    if rest:
        yield rest


def _since(lines: Iterator[bytes], since: datetime) -> Iterator[bytes]:
    for line in lines:
        match = _TIMESTAMP.match(line)
        if match is None or _dated(match.group(1).decode(), since):
            yield line


def _dated(stamp: str, since: datetime) -> bool:
    """Whether a line stamped so is kept; a stamp that is no real time (month 13) dates nothing."""
    try:
        return datetime.fromisoformat(stamp) >= since   # _TIMESTAMP has checked the form
    except ValueError:
        return True


def _batched(lines: Iterable[bytes]) -> Iterator[bytes]:
    """Lines gathered into chunks of about CHUNK bytes: one chunk per line would be one write per line."""
    batch: list[bytes] = []
    size = 0
    for line in lines:
        batch.append(line)
        size += len(line)
        if size >= CHUNK:
            yield b"".join(batch)
            batch, size = [], 0
    if batch:
        yield b"".join(batch)


def _limited(chunks: Iterator[bytes], limit: int) -> Iterator[bytes]:
    """At most `limit` bytes (> 0), pulling no chunk past the one that reaches it."""
    left = limit
    for chunk in chunks:
        yield chunk[:left]
        left -= len(chunk)
        if left <= 0:
            return
