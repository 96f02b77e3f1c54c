"""dns: lookups through resolv.conf's nameservers and search list, against a DNS server on 127.0.0.1
run by the test (dnspython answers from a small zone)."""
from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import dns.message
import dns.rcode
import dns.rdatatype
import dns.rrset
import pytest

from reconciler.collect import CollectContext, CollectorSpec, Output
from reconciler.collect.host.dns import ResolvConf, host_dns, lookup, name_list, parse_resolv_conf, search_of
from reconciler.collect.host.limits import Deadline

from .test_host_shapes import assert_written

ZONE = {("api.svc.local.", "A"): "10.0.0.7", ("www.example.test.", "CNAME"): "web.example.test.",
        ("v6.example.test.", "AAAA"): "fd00::1"}


@pytest.fixture
def dns_server() -> Iterator[int]:
    """A UDP DNS server on 127.0.0.1 answering from ZONE (NXDOMAIN otherwise); yields its port."""
    server = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    server.bind(("127.0.0.1", 0))
    server.settimeout(0.05)
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                wire, peer = server.recvfrom(4096)
            except TimeoutError:
                continue
            query = dns.message.from_wire(wire)
            question = query.question[0]
            reply = dns.message.make_response(query)
            key = (question.name.to_text(), dns.rdatatype.to_text(question.rdtype))
            if key in ZONE:
                reply.answer.append(dns.rrset.from_text(key[0], 300, "IN", key[1], ZONE[key]))
            elif not any(name == key[0] for name, _ in ZONE):
                reply.set_rcode(dns.rcode.NXDOMAIN)
            server.sendto(reply.to_wire(), peer)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield int(server.getsockname()[1])
    stop.set()
    thread.join()
    server.close()


def deadline(seconds: float = 10) -> Deadline:
    return Deadline(CollectContext(Output(Path("/nonexistent")), timeout=seconds))


def test_resolv_conf_and_the_name_list_follow_miekg_dns():
    config = parse_resolv_conf("# comment\nnameserver 127.0.0.1\nnameserver 127.0.0.2 # second\n"
                               "search svc.local cluster.local\noptions ndots:2 timeout:1\n")
    assert config == ResolvConf(["127.0.0.1", "127.0.0.2"], ["svc.local", "cluster.local"], 2)
    assert name_list("api", config) == ["api.svc.local.", "api.cluster.local.", "api."]
    assert name_list("a.b.c", config) == ["a.b.c.", "a.b.c.svc.local.", "a.b.c.cluster.local."]
    assert name_list("rooted.", config) == ["rooted."]
    assert [search_of(f, n) for f, n in [("foo.com.", "foo.com"), ("bar.com", "bar.com"),
                                         ("*.foo.testcluster.net.", "*")]] == ["", "", "foo.testcluster.net"]


def test_lookup_keeps_the_first_record_answered_and_the_searches_that_resolved(dns_server):
    config = ResolvConf(["127.0.0.1"], ["svc.local"], port=dns_server)
    result = lookup(["api", "www.example.test", "v6.example.test"], config, deadline())
    assert result["resolvedFromSearch"] == "svc.local"
    api = result["query"]["api"]
    assert [e["name"] for e in api] == ["api.svc.local.", "api."]
    assert api[0] == {"server": f"127.0.0.1:{dns_server}", "search": "svc.local", "name": "api.svc.local.",
                      "answer": "api.svc.local.\t300\tIN\tA\t10.0.0.7", "record": "10.0.0.7"}
    assert api[1]["answer"] == "" and api[1]["record"] == ""
    www = result["query"]["www.example.test"][0]
    assert www["record"] == "web.example.test." and www["answer"].endswith("\tCNAME\tweb.example.test.")
    assert result["query"]["v6.example.test"][0]["record"] == "fd00::1"


def test_the_collector_writes_the_result_and_resolv_conf_under_its_name(tmp_path):
    resolv = tmp_path / "resolv.conf"
    resolv.write_text("nameserver 127.0.0.1\n")
    ctx = CollectContext(Output(tmp_path / "out"), timeout=0.5)   # nothing answers there: the deadline ends it
    host_dns(CollectorSpec("dns", {"hostnames": ["nothing.invalid"], "collectorName": "my dns"}, True), ctx, resolv)
    found = assert_written(tmp_path / "out", "dns", "host-collectors/dns/my_dns/result.json")
    assert list(found["query"]) == ["nothing.invalid"]
    assert (tmp_path / "out/host-collectors/dns/my_dns/resolv.conf").read_text() == "nameserver 127.0.0.1\n"
    with pytest.raises(ValueError, match="hostnames is required"):
        host_dns(CollectorSpec("dns", {}, True), ctx, resolv)
