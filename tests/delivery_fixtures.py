"""Real destinations on loopback for delivery tests (design §7): moto's S3 server, the GCS emulator and a
programmable HTTP(S) sink, each started once per session on a free port and waited on until it answers.

Register with `pytest_plugins = ["tests.delivery_fixtures"]`, or import the fixtures into a test module.
Servers are kept in a process-wide registry, so importing the fixtures into several modules still
starts each server once; they are stopped when the session ends.

- `moto_s3` → "http://127.0.0.1:PORT" (moto_server); use with `s3_env` (fake AWS credentials, no host
  AWS files, no instance metadata) and `new_bucket(endpoint)`.
- `gcs_emulator` → "http://127.0.0.1:PORT" (gcp-storage-emulator --in-memory); use with `gcs_env`
  (STORAGE_EMULATOR_HOST) and `new_gcs_bucket(endpoint)`.
- `http_sink` / `https_sink` → a `Sink`: records every request (method, path, query, headers, body
  hash) and answers from a script of actions: a status, a `Reply`, `RESET` (a TCP reset after reading
  the request), `Stall(seconds)` or `Trickle(interval)` (a 200 sent one byte at a time);
  `https_sink.ca_file` is its self-signed certificate. `elsewhere` is a second plain-HTTP sink, on
  another port: another origin, for redirects that must not be followed.
"""
from __future__ import annotations

import contextlib
import hashlib
import http.server
import os
import socket
import ssl
import struct
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator, Union

import pytest

BIN = Path(sys.executable).parent
LOOPBACK = "127.0.0.1"
_running: dict[str, Any] = {}  # name -> started server, shared by every module that imports the fixtures
_lock = threading.Lock()


def free_port() -> int:
    with socket.socket() as s:
        s.bind((LOOPBACK, 0))
        return int(s.getsockname()[1])


def _wait(predicate: Callable[[], bool], *, timeout: float, what: str) -> None:
    tick = threading.Event()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        tick.wait(0.02)
    raise RuntimeError(f"{what} did not become ready within {timeout}s")


def _answers(url: str) -> bool:
    try:
        with urllib.request.build_opener(urllib.request.ProxyHandler({})).open(url, timeout=2):
            return True
    except urllib.error.HTTPError:
        return True  # an HTTP answer of any status: the server is up
    except OSError:
        return False


@dataclass
class ServerProcess:
    name: str
    url: str
    proc: subprocess.Popen[bytes]
    log: Path
    started_in: float

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)


def server_env() -> dict[str, str]:
    """The environment of the server processes: fake AWS credentials, no proxies for loopback."""
    env = dict(os.environ)
    env.update(AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing", AWS_SESSION_TOKEN="testing",
               AWS_DEFAULT_REGION="us-east-1", AWS_EC2_METADATA_DISABLED="true",
               NO_PROXY="127.0.0.1,localhost,::1", no_proxy="127.0.0.1,localhost,::1")
    return env


def _start(name: str, argv_for: Callable[[int], list[str]], ready_path: str, log_dir: Path) -> ServerProcess:
    with _lock:
        if name in _running and _running[name].proc.poll() is None:
            return _running[name]  # type: ignore[no-any-return]
        port = free_port()
        log = log_dir / f"{name}.log"
        began = time.monotonic()
        with open(log, "wb") as out:
            proc = subprocess.Popen(argv_for(port), stdout=out, stderr=subprocess.STDOUT, env=server_env(),
                                    stdin=subprocess.DEVNULL)
        url = f"http://127.0.0.1:{port}"

        def ready() -> bool:
            if proc.poll() is not None:
                raise RuntimeError(f"{name} exited with {proc.returncode}: {log.read_text(errors='replace')[-2000:]}")
            return _answers(url + ready_path)

        try:
            _wait(ready, timeout=60, what=name)
        except BaseException:
            proc.kill()
            raise
        server = ServerProcess(name, url, proc, log, round(time.monotonic() - began, 3))
        _running[name] = server
        return server


def _stop(name: str) -> None:
    with _lock:
        server = _running.pop(name, None)
    if server is not None:
        server.stop()


@pytest.fixture(scope="session")
def moto_s3(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """moto's S3 server as a real process; yields its endpoint URL."""
    server = _start("moto", lambda port: [str(BIN / "moto_server"), "-H", LOOPBACK, "-p", str(port)],
                    "/moto-api/", tmp_path_factory.mktemp("moto"))
    yield server.url
    _stop("moto")


@pytest.fixture(scope="session")
def gcs_emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """gcp-storage-emulator, in memory, as a real process; yields its URL (for STORAGE_EMULATOR_HOST)."""
    server = _start("gcs", lambda port: [str(BIN / "gcp-storage-emulator"), "start", "--host", LOOPBACK, "--port",
                                         str(port), "--in-memory"], "/", tmp_path_factory.mktemp("gcs"))
    yield server.url
    _stop("gcs")


def startup_seconds(name: str) -> float | None:
    """How long the server `name` (moto, gcs) took to answer after it was started."""
    server = _running.get(name)
    return server.started_in if server is not None else None


@pytest.fixture
def s3_env(moto_s3: str, fake_aws: None, monkeypatch: pytest.MonkeyPatch) -> str:
    """`fake_aws`, and any S3 client lands on moto."""
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_s3)  # a safety net: nothing can reach real AWS
    return moto_s3


@pytest.fixture
def fake_aws(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Fake AWS credentials, no host AWS files, no instance metadata."""
    for var in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_SESSION_TOKEN", "AWS_ROLE_ARN",
                "AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_CONTAINER_CREDENTIALS_FULL_URI",
                "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "aws-credentials"))


def s3_client(endpoint: str) -> Any:
    import boto3

    return boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="testing",
                        aws_secret_access_key="testing")


def new_bucket(endpoint: str) -> str:
    name = f"sbsched-{uuid.uuid4().hex[:12]}"
    s3_client(endpoint).create_bucket(Bucket=name)
    return name


@pytest.fixture
def gcs_env(gcs_emulator: str, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("STORAGE_EMULATOR_HOST", gcs_emulator)
    monkeypatch.delenv("GOOGLE_APPLICATION_CREDENTIALS", raising=False)
    return gcs_emulator


def gcs_client(endpoint: str) -> Any:
    from google.auth.credentials import AnonymousCredentials
    from google.cloud import storage

    return storage.Client(project="test", credentials=AnonymousCredentials(),
                          client_options={"api_endpoint": endpoint})


def new_gcs_bucket(endpoint: str) -> str:
    name = f"sbsched-{uuid.uuid4().hex[:12]}"
    gcs_client(endpoint).create_bucket(name)
    return name


# -- the HTTP sink -----------------------------------------------------------------------------------
RESET = "reset"


@dataclass(frozen=True)
class Reply:
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""


@dataclass(frozen=True)
class Stall:
    """Hold the request this long (or until the sink is reset) before answering 200."""

    seconds: float = 10.0


@dataclass(frozen=True)
class Trickle:
    """Answer 200, one byte of the response every `interval` seconds: each read of the client gets a byte
    in time, so only a deadline on the whole exchange ends it (or the sink's reset, or the client leaving)."""

    interval: float = 0.25


Action = Union[int, str, Reply, Stall, Trickle]
BODY_KEPT = 1024 * 1024  # bodies up to this size are kept whole; larger ones only hashed


@dataclass
class Recorded:
    method: str
    path: str
    query: str
    headers: dict[str, str]
    size: int
    sha256: str
    body: bytes | None

    def json(self) -> Any:
        import json

        assert self.body is not None
        return json.loads(self.body)


class Sink:
    def __init__(self, server: http.server.ThreadingHTTPServer, scheme: str, ca_file: Path | None = None) -> None:
        self.server = server
        self.url = f"{scheme}://{LOOPBACK}:{server.server_address[1]}"
        self.ca_file = ca_file
        self.requests: list[Recorded] = []
        self.script: deque[Action] = deque()
        self.release = threading.Event()
        self.changed = threading.Condition()

    def reset(self) -> Sink:
        """Forget recorded requests and the script; release stalled requests."""
        self.release.set()
        with self.changed:
            self.requests = []
            self.script.clear()
        self.release = threading.Event()
        return self

    def respond(self, *actions: Action) -> Sink:
        """Answer the next requests with these actions in order; 200 once the script is used up."""
        with self.changed:
            self.script.extend(actions)
        return self

    def wait_for(self, count: int, *, timeout: float = 10.0) -> list[Recorded]:
        with self.changed:
            if not self.changed.wait_for(lambda: len(self.requests) >= count, timeout=timeout):
                raise AssertionError(f"expected {count} request(s) at the sink, got {len(self.requests)}")
            return list(self.requests)

    def _next(self, recorded: Recorded) -> Action:
        with self.changed:
            self.requests.append(recorded)
            action = self.script.popleft() if self.script else 200
            self.changed.notify_all()
        return action


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: Any

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        pass

    def _handle(self) -> None:
        sink: Sink = self.server.sink
        path, _, query = self.path.partition("?")
        size, digest, kept = self._read_body()
        recorded = Recorded(self.command, path, query, {k: v for k, v in self.headers.items()}, size,
                            digest.hexdigest(), kept)
        action = sink._next(recorded)
        if action == RESET:
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.close_connection = True
            with contextlib.suppress(OSError):
                self.connection.close()
            return
        if isinstance(action, Stall):
            sink.release.wait(action.seconds)
            action = 200
        if isinstance(action, Trickle):
            self._trickle(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", action.interval, sink.release)
            return
        reply = action if isinstance(action, Reply) else Reply(int(action))  # type: ignore[arg-type]
        with contextlib.suppress(OSError):
            self.send_response(reply.status)
            for name, value in reply.headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(reply.body)))
            self.end_headers()
            self.wfile.write(reply.body)

    def _trickle(self, answer: bytes, interval: float, release: threading.Event) -> None:
        self.close_connection = True
        for byte in answer:
            if release.wait(interval):
                return
            try:
                self.wfile.write(bytes([byte]))
                self.wfile.flush()
            except OSError:   # the client gave up: what a deadline on the exchange does
                return

    def _read_body(self) -> tuple[int, Any, bytes | None]:
        digest = hashlib.sha256()
        kept = bytearray()
        size = 0

        def take(chunk: bytes) -> None:
            nonlocal size
            size += len(chunk)
            digest.update(chunk)
            if len(kept) < BODY_KEPT + 1:
                kept.extend(chunk[: BODY_KEPT + 1 - len(kept)])

        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            while True:
                length = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if length == 0:
                    self.rfile.readline()
                    break
                take(self.rfile.read(length))
                self.rfile.readline()
        else:
            remaining = int(self.headers.get("Content-Length") or 0)
            while remaining > 0:
                chunk = self.rfile.read(min(remaining, 1024 * 1024))
                if not chunk:
                    break
                take(chunk)
                remaining -= len(chunk)
        return size, digest, bytes(kept) if size <= BODY_KEPT else None

    do_GET = do_PUT = do_POST = do_DELETE = do_PATCH = _handle


class _QuietServer(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # resets and abandoned stalls are the point of this server


def _serve(tls: tuple[Path, Path] | None) -> Sink:
    server = _QuietServer((LOOPBACK, 0), _Handler)
    if tls is not None:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(str(tls[0]), str(tls[1]))
        server.socket = context.wrap_socket(server.socket, server_side=True, do_handshake_on_connect=False)
    sink = Sink(server, "https" if tls else "http", tls[0] if tls else None)
    server.sink = sink  # type: ignore[attr-defined]
    threading.Thread(target=server.serve_forever, name=f"sink-{sink.url}", daemon=True).start()
    return sink


def self_signed_cert(directory: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 / localhost and its key, made with `cryptography`."""
    import datetime
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "sbsched test sink")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address(LOOPBACK)),
                                                        x509.DNSName("localhost")]), critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    cert_file, key_file = directory / "sink-cert.pem", directory / "sink-key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_file, key_file


def _sink(name: str, tls_dir: Path | None) -> Sink:
    with _lock:
        if name not in _running:
            _running[name] = _serve(self_signed_cert(tls_dir) if tls_dir is not None else None)
        return _running[name]  # type: ignore[no-any-return]


def _close_sink(name: str) -> None:
    with _lock:
        sink = _running.pop(name, None)
    if sink is not None:
        sink.release.set()
        sink.server.shutdown()
        sink.server.server_close()


@pytest.fixture(scope="session")
def http_sink() -> Iterator[Sink]:
    """A plain-HTTP sink on 127.0.0.1; call `.reset()` first in each test (or use `sink`)."""
    yield _sink("http-sink", None)
    _close_sink("http-sink")


@pytest.fixture(scope="session")
def https_sink(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sink]:
    """The same over TLS with a self-signed certificate (`.ca_file`)."""
    pytest.importorskip("cryptography")
    yield _sink("https-sink", tmp_path_factory.mktemp("tls"))
    _close_sink("https-sink")


@pytest.fixture
def sink(http_sink: Sink) -> Iterator[Sink]:
    """`http_sink`, reset for this test and released after it."""
    yield http_sink.reset()
    http_sink.reset()


@pytest.fixture(scope="session")
def elsewhere_sink() -> Iterator[Sink]:
    """A second plain-HTTP sink, on another port: another origin."""
    yield _sink("elsewhere-sink", None)
    _close_sink("elsewhere-sink")


@pytest.fixture
def elsewhere(elsewhere_sink: Sink) -> Iterator[Sink]:
    """`elsewhere_sink`, reset for this test and released after it."""
    yield elsewhere_sink.reset()
    elsewhere_sink.reset()


def make_archive(directory: Path, *, size: int = 64 * 1024, name: str = "support-bundle-2026-01-02T03_04_05.tar.gz"
                 ) -> tuple[Path, str]:
    """A stand-in archive of `size` random bytes (incompressible, like a real .tar.gz); (path, sha256)."""
    path = directory / name
    digest = hashlib.sha256()
    with open(path, "wb") as out:
        left = size
        while left > 0:
            chunk = os.urandom(min(left, 1024 * 1024))
            digest.update(chunk)
            out.write(chunk)
            left -= len(chunk)
    path.chmod(0o600)
    return path, digest.hexdigest()
