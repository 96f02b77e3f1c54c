"""dns: each of `hostnames` looked up through every nameserver of /etc/resolv.conf, with its search
list, as troubleshoot does (pkg/collect/host_dns.go, DNSResult), written to
host-collectors/dns/<collectorName|dns>/result.json, with a copy of resolv.conf beside it.

Each query name is asked for A, then AAAA, then CNAME, and the first record answered is kept, in
miekg/dns's text form ("name.\\tTTL\\tIN\\tA\\taddress"); a server that does not answer leaves the
entry's answer empty, as there. Lookups go to port 53 over UDP, 2 s each (miekg's defaults),
within the collector's timeout. A container has its own resolv.conf, so this works there too.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import dns.exception
import dns.message
import dns.query
import dns.rdataclass
import dns.rdatatype

from .. import CollectContext, CollectorSpec
from .limits import Deadline, stop_if_cancelled
from ..params import bundle_path, collector_name, texts

RESOLV_CONF = Path("/etc/resolv.conf")
_EXCHANGE_SECONDS = 2.0
_TYPES = (dns.rdatatype.A, dns.rdatatype.AAAA, dns.rdatatype.CNAME)


@dataclass(frozen=True)
class ResolvConf:
    servers: list[str]
    search: list[str] = field(default_factory=list)
    ndots: int = 1
    port: int = 53


def host_dns(spec: CollectorSpec, ctx: CollectContext, resolv_conf: Path = RESOLV_CONF) -> None:
    names = texts(spec.params, "hostnames")
    if not names:
        raise ValueError("hostnames is required")
    try:
        text = resolv_conf.read_text(encoding="utf-8", errors="replace")
    except OSError as exc:
        raise RuntimeError(f"failed to read DNS resolve config: {exc.strerror or exc}") from None
    result = lookup(names, parse_resolv_conf(text), Deadline(ctx))
    stop_if_cancelled(ctx)
    folder = bundle_path("host-collectors/dns", collector_name(spec, "dns").replace(" ", "_"))
    ctx.output.write_json(bundle_path(folder, "result.json"), result)
    ctx.output.write_text(bundle_path(folder, "resolv.conf"), text)


def parse_resolv_conf(text: str) -> ResolvConf:
    """nameserver, search (or domain) and options ndots:N, as miekg/dns's ClientConfigFromReader reads them."""
    servers: list[str] = []
    search: list[str] = []
    ndots = 1
    for line in text.splitlines():
        words = line.split("#", 1)[0].split(";", 1)[0].split()
        if len(words) >= 2 and words[0] == "nameserver":
            servers.append(words[1])
        elif len(words) >= 2 and words[0] in ("search", "domain"):
            search = words[1:] if words[0] == "search" else [words[1]]
        elif words[:1] == ["options"]:
            for option in words[1:]:
                if option.startswith("ndots:") and option[6:].isdigit():
                    ndots = min(int(option[6:]), 15)
    return ResolvConf(servers, search, ndots)


def name_list(name: str, config: ResolvConf) -> list[str]:
    """miekg/dns's NameList: the name itself first when it has more labels than ndots, else last."""
    if name.endswith("."):
        return [name]
    fqdn = name + "."
    enough = len([label for label in name.split(".") if label]) > config.ndots
    searched = [f"{fqdn}{suffix}".rstrip(".") + "." for suffix in config.search]
    return [fqdn, *searched] if enough else [*searched, fqdn]


def lookup(names: list[str], config: ResolvConf, deadline: Deadline) -> dict[str, Any]:
    query: dict[str, list[dict[str, str]]] = {}
    searches: list[str] = []
    for name in names:
        entries = query.setdefault(name, [])
        for candidate in name_list(name, config):
            for server in config.servers:
                entry = ask(name, candidate, server, config.port, deadline)
                entries.append(entry)
                if entry["search"] and entry["search"] not in searches:
                    searches.append(entry["search"])
    return {"query": query, "resolvedFromSearch": ", ".join(searches)}


def ask(name: str, candidate: str, server: str, port: int, deadline: Deadline) -> dict[str, str]:
    """One DNSEntry: the first of A, AAAA and CNAME that `server` answers for `candidate`."""
    entry = {"server": f"{server}:{port}", "search": "", "name": candidate, "answer": "", "record": ""}
    for rdtype in _TYPES:
        if deadline.expired():
            break
        try:
            response = dns.query.udp(dns.message.make_query(candidate, rdtype), server, port=port,
                                     timeout=min(_EXCHANGE_SECONDS, deadline.remaining()))
        except (dns.exception.DNSException, OSError, ValueError):
            continue
        if not response.answer:
            continue
        rrset = response.answer[0]
        rdata = rrset[0]
        entry["answer"] = (f"{rrset.name}\t{rrset.ttl}\t{dns.rdataclass.to_text(rrset.rdclass)}\t"
                           f"{dns.rdatatype.to_text(rrset.rdtype)}\t{rdata.to_text()}")
        entry["search"] = search_of(candidate, name)
        entry["record"] = rdata.to_text() if rrset.rdtype == rdtype else ""
        break
    return entry


def search_of(fqdn: str, name: str) -> str:
    """The search domain that made `fqdn` out of `name` ("" when none did), as troubleshoot extracts it."""
    if fqdn == name:
        return ""
    return fqdn.removeprefix(name + ".").removesuffix(".")
