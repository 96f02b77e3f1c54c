"""http, tcpPortStatus and tcpConnect against servers this test starts on 127.0.0.1 (no other address)."""
from __future__ import annotations

import json
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from reconciler.collect.host import network
from reconciler.collect.host.proxy import proxy_for

from .test_host_shapes import assert_written, collect


class Echo(BaseHTTPRequestHandler):
    """Answers with what it received; /text answers plain text, /slow waits for the test to release it."""

    release = threading.Event()

    def _answer(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if self.path == "/slow":
            self.release.wait(10)
        if self.path == "/text":
            payload, kind, status = b"plain words", "text/plain", 404
        else:
            echoed = {"method": self.command, "body": body.decode(), "headers": dict(self.headers)}
            payload = json.dumps(echoed).encode()
            kind, status = "application/json", 200
        self.send_response(status)
        self.send_header("content-type", kind)
        self.send_header("X-Multi", "a")
        self.send_header("X-Multi", "b")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    do_GET = do_POST = do_PUT = _answer

    def log_message(self, *args: object) -> None:
        """Quiet: the test reads the responses, not the server's log."""


@pytest.fixture
def server():
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Echo)
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    Echo.release.set()
    httpd.shutdown()
    httpd.server_close()
    Echo.release.clear()


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_http_get_records_status_body_headers_and_raw_json(tmp_path, server):
    collect("http", tmp_path, collectorName="registry", get={"url": server + "/v2", "headers": {"X-Token": "t"}})
    result = assert_written(tmp_path, "http", "host-collectors/http/registry.json")
    response = result["response"]
    assert response["status"] == 200
    assert response["headers"]["Content-Type"] == "application/json" and response["headers"]["X-Multi"] == "a,b"
    assert response["raw_json"] == json.loads(response["body"])
    assert response["raw_json"]["method"] == "GET" and response["raw_json"]["headers"]["X-Token"] == "t"


@pytest.mark.parametrize("method", ["post", "put"])
def test_http_post_and_put_send_the_body_and_no_invented_content_type(tmp_path, server, method):
    collect("http", tmp_path, **{method: {"url": server, "body": '{"a": 1}', "headers": {"X-Test": "yes"},
                                          "timeout": "5s"}})
    sent = assert_written(tmp_path, "http", "host-collectors/http/result.json")["response"]["raw_json"]
    assert (sent["method"], sent["body"], sent["headers"]["X-Test"]) == (method.upper(), '{"a": 1}', "yes")
    assert "Content-Type" not in sent["headers"] and "Content-type" not in sent["headers"]


def test_http_error_status_is_a_response_and_a_non_json_body_has_no_raw_json(tmp_path, server):
    collect("http", tmp_path, get={"url": server + "/text"})
    response = assert_written(tmp_path, "http", "host-collectors/http/result.json")["response"]
    assert (response["status"], response["body"]) == (404, "plain words") and "raw_json" not in response


def test_http_to_a_closed_port_records_the_error_and_the_collector_succeeds(tmp_path):
    port = closed_port()
    collect("http", tmp_path, get={"url": f"http://127.0.0.1:{port}/healthz"})
    result = assert_written(tmp_path, "http", "host-collectors/http/result.json")
    assert result == {"error": {"message": f'Get "http://127.0.0.1:{port}/healthz": '
                                           f"dial tcp 127.0.0.1:{port}: connect: connection refused"}}


@pytest.mark.parametrize("request_params, message", [
    ({"url": "/slow", "timeout": "200ms"}, "context deadline exceeded"),
    ({"url": "/", "timeout": "later"}, 'time: invalid duration "later"'),
    ({"url": "/", "timeout": "-1s"}, "timeout must be a positive duration"),
    ({"url": "/", "tls": {"cacert": "/no/such/ca.pem"}}, "failed to handle cacert file path"),
])
def test_http_request_problems_are_recorded_as_errors(tmp_path, server, request_params, message):
    collect("http", tmp_path, get={**request_params, "url": server + request_params["url"]})
    assert message in assert_written(tmp_path, "http", "host-collectors/http/result.json")["error"]["message"]


def test_http_without_a_method_fails(tmp_path):
    with pytest.raises(ValueError, match="no supported http request type"):
        collect("http", tmp_path)
    collect("http", tmp_path, get={"url": "ftp://127.0.0.1/x"})
    assert "unsupported protocol scheme" in (tmp_path / "host-collectors/http/result.json").read_text()


def test_proxy_follows_troubleshoots_rule():
    env = {"HTTPS_PROXY": "http://proxy:3128", "HTTP_PROXY": "http://proxy:3129", "NO_PROXY": ".corp,10.0.0.0/8"}
    assert proxy_for("http://127.0.0.1:9", "http://spec:1", {}) == "http://spec:1"
    assert proxy_for("https://example.com", "", env) == "http://proxy:3128"
    assert proxy_for("http://example.com", "", env) == "http://proxy:3129"
    assert proxy_for("http://example.com", "", {"HTTP_PROXY": "http://proxy:3129"}) is None   # no HTTPS_PROXY
    for url in ("http://127.0.0.1:9", "http://localhost", "https://a.corp", "http://10.1.2.3"):
        assert proxy_for(url, "", env) is None, url


def test_tcp_port_status_connected_on_a_free_port_and_address_in_use_on_a_taken_one(tmp_path):
    port = closed_port()
    collect("tcpPortStatus", tmp_path, collectorName="free", port=port, interface="lo")
    assert assert_written(tmp_path, "tcpPortStatus", "host-collectors/tcpPortStatus/free.json") == {
        "status": "connected", "message": ""}
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        with pytest.raises(RuntimeError, match="address already in use"):
            collect("tcpPortStatus", tmp_path, port=port, interface="lo")
    assert assert_written(tmp_path, "tcpPortStatus", "host-collectors/tcpPortStatus/tcpPortStatus.json") == {
        "status": "address-in-use", "message": f"listen tcp 127.0.0.1:{port}: bind: address already in use"}


def test_tcp_port_status_without_interface_dials_the_hosts_address(tmp_path, monkeypatch):
    monkeypatch.setattr(network, "local_ipv4", lambda: "127.0.0.1")   # this test only talks to 127.0.0.1
    collect("tcpPortStatus", tmp_path, port=closed_port())
    assert assert_written(tmp_path, "tcpPortStatus", "host-collectors/tcpPortStatus/tcpPortStatus.json")[
        "status"] == "connected"


def test_tcp_connect_to_an_open_and_a_closed_port(tmp_path):
    with socket.create_server(("127.0.0.1", 0)) as listening:
        collect("tcpConnect", tmp_path, collectorName="open", address=f"127.0.0.1:{listening.getsockname()[1]}",
                timeout="2s")
    assert assert_written(tmp_path, "tcpConnect", "host-collectors/connect/open.json") == {
        "status": "connected", "message": ""}
    port = closed_port()
    with pytest.raises(RuntimeError, match="connection refused"):
        collect("tcpConnect", tmp_path, address=f"127.0.0.1:{port}")
    assert assert_written(tmp_path, "tcpConnect", "host-collectors/connect/connect.json") == {
        "status": "connection-refused", "message": f"dial tcp 127.0.0.1:{port}: connect: connection refused"}
    with pytest.raises(RuntimeError, match="missing port in address"):
        collect("tcpConnect", tmp_path, collectorName="bad", address="127.0.0.1")
    assert assert_written(tmp_path, "tcpConnect", "host-collectors/connect/bad.json")["status"] == "error"
