"""Line rules, the pieces every redactor is made of, and the built-in set that runs on every bundle.

A rule works on one line at a time (bytes, without its newline), so a file of any size is redacted
with flat memory. Each rule names `needles`: a line that contains none of them cannot be changed by
the rule, which lets tree.py skip whole blocks of a file with a few `bytes.find` calls instead of
running every regex on every line (`needles` match the raw line, `folded` the lowercased line, `scan`
is a regex with a literal prefix for a family of prefixes, `ghp_`/`gho_`/..., searched as fast as one
needle; a rule with none of them sees every line). `requires` (lowercase) must all be in a line as well: Python's regex
engine is slow on long lines, so a rule is not run where it cannot match.

The built-ins port troubleshoot's `getRedactors()` (pkg/redact/redact.go) and add what real collector
output needs beyond JSON; docs/redaction.md lists them and every deliberate difference.
"""
from __future__ import annotations

import re
from abc import ABC, abstractmethod
from dataclasses import dataclass
from functools import lru_cache
from typing import Callable, Iterable, Sequence

from . import jsonline
from .masker import context_of, holds_mask, is_mask, masked, quoted, unquoted

Edit = tuple[int, int, bytes]      # replace line[start:end] with the bytes
Rewrite = Callable[[re.Match[bytes]], Sequence[Edit]]


class Session(ABC):
    """A rule's state within one file. `pending` asks tree.py for the next line whatever it holds
    (inside a private key block, a YAML block scalar, after a selector line)."""

    pending: bool = False

    @abstractmethod
    def feed(self, line: bytes, previous: bytes) -> tuple[bytes, int]:
        """The line rewritten, and how many values were masked; `previous` is the line before."""


class Rule(ABC):
    """A named rule; `open()` starts its state for one file (a stateless rule is its own session)."""

    name: str
    needles: tuple[bytes, ...] = ()
    folded: tuple[bytes, ...] = ()
    requires: tuple[bytes, ...] = ()
    scan: re.Pattern[bytes] | None = None

    def applies_to(self, path: str) -> bool:
        """Whether the rule runs on this bundle-relative path at all."""
        return True

    @abstractmethod
    def open(self) -> Session:
        """A fresh session for one file."""

    @property
    def every_line(self) -> bool:
        return not self.needles and not self.folded and self.scan is None


def splice(line: bytes, edits_per_match: Iterable[Sequence[Edit]]) -> tuple[bytes, int]:
    """Apply non-overlapping edits, fitted to the line's JSON tokens if it is JSON (jsonline.fit: a JSON
    line stays JSON); a match counts once if any of its edits changed the line.

    Returns the line itself, uncopied, when nothing changed: the common case on a matched line."""
    chosen: list[Edit] = []
    matches: list[int] = []   # the match each chosen edit comes from
    last = 0
    for number, edits in enumerate(edits_per_match):
        for start, end, text in edits:
            if start < last or line[start:end] == text:
                continue
            chosen.append((start, end, text))
            matches.append(number)
            last = end
    if not chosen:
        return line, 0
    fitted = jsonline.fit(line, chosen, masked)
    if fitted != chosen:   # widened or dropped: a match counts if what remains still changes its part
        fitted = [(start, end, text) for start, end, text in fitted if line[start:end] != text]
        matches = [match for (start, end, _), match in zip(chosen, matches)
                   if any(s < end and start < e or s == start for s, e, _ in fitted)]
    parts: list[bytes] = []
    last = 0
    for start, end, text in fitted:
        parts += (line[last:start], text)
        last = end
    if not parts:
        return line, 0
    parts.append(line[last:])
    return b"".join(parts), len(set(matches))


def mask_groups(match: re.Match[bytes], *groups: str, quote_bare: bool = False) -> list[Edit]:
    """Edits masking each named group that took part in the match and is not empty, with what the
    run's masker gives (masker.py). A group named `bare` (an unquoted value) gets its mask quoted
    when `quote_bare`."""
    edits = []
    for group in groups:
        start, end = match.span(group)
        if end > start:
            mask = masked(match.string[start:end], context_of(match, group))
            edits.append((start, end, quoted(mask) if quote_bare and group == "bare" else mask))
    return edits


@dataclass(frozen=True)
class Substitution:
    """A regex and how its matches are rewritten, precompiled once."""

    pattern: re.Pattern[bytes]
    rewrite: Rewrite

    def apply(self, line: bytes) -> tuple[bytes, int]:
        return splice(line, (self.rewrite(m) for m in self.pattern.finditer(line)))


def masking(pattern: bytes, *groups: str, flags: int = 0) -> Substitution:
    """A substitution masking the named groups of every match."""
    return Substitution(re.compile(pattern, flags), lambda match: mask_groups(match, *groups))


@dataclass(frozen=True)
class SubstitutionRule(Rule, Session):
    """Stateless: each substitution in turn on the line; the rule is its own session."""

    name: str
    subs: tuple[Substitution, ...]
    needles: tuple[bytes, ...] = ()
    folded: tuple[bytes, ...] = ()
    requires: tuple[bytes, ...] = ()
    path: re.Pattern[str] | None = None
    scan: re.Pattern[bytes] | None = None

    def applies_to(self, path: str) -> bool:
        return self.path is None or self.path.fullmatch(path) is not None

    def open(self) -> Session:
        return self

    def feed(self, line: bytes, previous: bytes) -> tuple[bytes, int]:
        total = 0
        for sub in self.subs:
            line, count = sub.apply(line)
            total += count
        return line, total


@dataclass(frozen=True)
class LookBackRule(Rule, Session):
    """troubleshoot's multi-line redactors seen from the value line: the value is masked when the line
    before it names a secret. Triggered by the (rarer) value line, so `"name"` lines, which are on every
    Kubernetes object, cost nothing."""

    name: str
    selector: Callable[[bytes], bool]
    value: Substitution
    folded: tuple[bytes, ...] = ()
    requires: tuple[bytes, ...] = ()

    def open(self) -> Session:
        return self

    def feed(self, line: bytes, previous: bytes) -> tuple[bytes, int]:
        return self.value.apply(line) if self.selector(previous) else (line, 0)


# --- what counts as a secret's name -----------------------------------------------------------------

_SEGMENT = re.compile(rb"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|[0-9]+")
_SECRET_WORDS = frozenset({b"password", b"passwords", b"passwd", b"passphrase", b"secret", b"secrets", b"token",
                           b"tokens", b"credential", b"credentials", b"apikey", b"secretkey", b"accesskey",
                           b"privatekey", b"authtoken", b"accesstoken"})
# `key` and `pass` count only as the last word of a longer name (`api_key`, `tls.key`, `DB_PASS`):
# alone they are a toleration's key or a test count, and `bridge-nf-pass-vlan` passes nothing. A key
# that indexes something is not a secret either (`topologyKey` is on every Deployment).
_QUALIFIED_WORDS = frozenset({b"key", b"pass"})
_INDEX_WORDS = frozenset({b"topology", b"sort", b"partition", b"primary", b"foreign", b"cache", b"routing",
                          b"label", b"hash", b"idempotency", b"lookup", b"map", b"object", b"group", b"field",
                          b"index", b"unique", b"row", b"shard", b"match", b"toleration", b"taint",
                          b"annotation"})
# A name ending in one of these refers to a secret or describes it; its value is not the secret.
_NOT_SECRET_LAST = frozenset({b"name", b"names", b"ref", b"file", b"files", b"path", b"dir", b"type", b"kind",
                              b"mode", b"ttl", b"seconds", b"expiry", b"expiration", b"expires", b"length",
                              b"size", b"count", b"enabled", b"namespace", b"version", b"format", b"url",
                              b"selector", b"policy", b"stdin", b"prompt"})


@lru_cache(maxsize=4096)   # the same names (env vars, config keys) come back on every object
def secret_name(name: bytes) -> bool:
    """Whether a variable or key name holds a secret, judged on its words (split at `_.-/` and camelCase),
    never on substrings: `monkey`, `keepLast`, `tokenizer` are not secrets; `apiKey`, `DB_PASSWORD` are."""
    words = [word.lower() for word in _SEGMENT.findall(name)]
    if not words or words[-1] in _NOT_SECRET_LAST or b"public" in words:
        return False
    if any(word in _SECRET_WORDS for word in words):
        return True
    return len(words) > 1 and words[-1] in _QUALIFIED_WORDS and words[-2] not in _INDEX_WORDS


# Header names whose whole value is a credential, when it stands as a value of its own (a parsed document).
_CREDENTIAL_HEADERS = frozenset({b"authorization", b"proxy-authorization", b"cookie", b"set-cookie"})


def secret_key(name: bytes) -> bool:
    """Whether a document's key holds a secret as its whole value: a secret's name, or a credential header."""
    return secret_name(name) or name.lower() in _CREDENTIAL_HEADERS


# troubleshoot's env-var names (substrings, case-insensitive), plus ours.
_TROUBLESHOOT_ENV_NAME = re.compile(
    rb"(?i)password|token|database|user|secret_?access_?key|access_?key_?id|owner_?account")


@lru_cache(maxsize=4096)
def secret_env_name(name: bytes) -> bool:
    return _TROUBLESHOOT_ENV_NAME.search(name) is not None or secret_name(name)


# --- value syntax shared by the rules ---------------------------------------------------------------

# A value after `name:` / `name =`: JSON-escaped `\"...\"` (or escaped again, `\\\"...\\\"`), `"..."` with
# escapes, `'...'`, or bare up to whitespace, a quote or `,;&}]` (a bare value never starts with `{[`: that is
# a structure).
_VALUE = (rb"""(?:\\+"(?P<eq>(?:[^"\\]|\\+[^"\\])*)\\+"|"(?P<dq>(?:[^"\\]|\\.)*)"|'(?P<sq>[^']*)'"""
          rb"""|(?P<bare>[^\s"',;&{}\[\]][^\s"',;&}\]]*))""")
_VALUE_GROUPS = ("eq", "dq", "sq", "bare")
_NOT_VALUES = frozenset({b"null", b"~", b"true", b"false"})   # `AUTH_PASS_CREDENTIALS: false` hides nothing


def mask_values(match: re.Match[bytes], *groups: str, quote_bare: bool = False) -> list[Edit]:
    """mask_groups for a secret's value, which is never a YAML/JSON null or boolean."""
    return [edit for edit in mask_groups(match, *groups, quote_bare=quote_bare)
            if match.string[edit[0]:edit[1]] not in _NOT_VALUES]


def _json_env(escaped: bool) -> Substitution:
    """`{"name":"DB_PASSWORD","value":"..."}` on one line; escaped: inside a JSON string, the only form
    troubleshoot's single-line env redactors match (a last-applied-configuration annotation)."""
    q = rb'\\"' if escaped else rb'"'
    value = rb'(?P<eq>[^"]*)' if escaped else rb'(?P<dq>(?:[^"\\]|\\.)*)'
    pattern = (q + rb"name" + q + rb"\s*:\s*" + q + rb'(?P<name>[^"\\]*)' + q + rb"\s*,\s*"
               + q + rb"value" + q + rb"\s*:\s*" + q + value + q)
    group = "eq" if escaped else "dq"
    return Substitution(re.compile(pattern, re.I),
                        lambda m: mask_values(m, group) if secret_env_name(m["name"]) else [])


def _selector(pattern: bytes, test: Callable[[bytes], bool] | None = None) -> Callable[[bytes], bool]:
    """Whether a line matches `pattern` and, given `test`, its group `name` passes it."""
    compiled = re.compile(pattern, re.I)

    def selects(previous: bytes) -> bool:
        match = compiled.search(previous)
        return match is not None and (test is None or test(match["name"]))
    return selects


_JSON_VALUE_LINE = Substitution(re.compile(rb'"value"\s*:\s*"(?P<dq>(?:[^"\\]|\\.)*)"', re.I),
                                lambda m: mask_values(m, "dq"))
_YAML_VALUE_LINE = Substitution(
    re.compile(rb"^\s*(?:-\s+)?value:[ \t]*"
               rb"(?:\"(?P<dq>(?:[^\"\\]|\\.)*)\"|'(?P<sq>[^']*)'|(?P<bare>[^\s\"'#].*?))[ \t\r]*$"),
    lambda m: mask_values(m, "dq", "sq", "bare", quote_bare=True))


# --- stateful rules ---------------------------------------------------------------------------------

_BLOCK_INDICATOR = re.compile(rb"[|>][-+0-9]*")


class _BlockSession(Session):
    """A session that masks the body lines of a block (a YAML block scalar, a PEM key), counted once."""

    def __init__(self) -> None:
        self.counted = False
        self.context = b""   # what names the block's value, for the masker

    def open_block(self, context: bytes) -> None:
        self.pending, self.counted, self.context = True, False, context

    def mask_body(self, line: bytes) -> tuple[bytes, int]:
        """Everything but the indentation (and a CR) masked; the block's first masked line counts."""
        content = line.lstrip(b" \t")
        first, self.counted = not self.counted, True
        cr = b"\r" if line.endswith(b"\r") else b""
        mask = masked(content[:len(content) - len(cr)], self.context)
        return line[:len(line) - len(content)] + mask + cr, int(first)


_SECRET_HINT = rb"(?=[\w.\-/]*?(?i:pass|secret|token|credential|key|authorization|cookie))"   # cheap, in C:
#                                                                                  secret_name decides
# `TOKEN=Bearer abc` (an Authorization value kept in a variable): the scheme is kept, the credential masked.
_AUTH_SCHEME = rb"(?:(?i:bearer|basic|digest|token|negotiate)[ \t]+(?=[^\s\"',;&{}\[\]]))?"
_KEY_VALUE = re.compile(rb"(?<![\w.\-/])" + _SECRET_HINT + rb"(?P<name>[\w.\-/]++)(?:\\*[\"'])?[ \t]*"
                        rb"(?P<sep>[:=])[ \t]*" + _AUTH_SCHEME
                        + rb"(?=(?P<list>\[)|(?P<end>(?:[ \t]+#.*)?\r?$)|" + _VALUE + rb")")
# A list's items: flow (`[a, "b"]`, on one line or many, JSON too) or a YAML block (`- a` lines).
_FLOW_TOKEN = re.compile(rb"""[ \t]*(?:(?P<open>[\[{])|(?P<close>[\]}])|(?P<comma>,)"""
                         rb"""|(?P<item>"(?:[^"\\]|\\.)*"|'[^']*'|[^\s,\[\]{}"'][^,\[\]{}]*?)"""
                         rb"""(?=[ \t]*(?:[,\]}]|\r?$))|(?P<other>\S))""")
_BLOCK_ITEM = re.compile(rb"""(?P<indent>[ \t]*)-(?:[ \t]+(?P<item>"(?:[^"\\]|\\.)*"|'[^']*'"""
                         rb"""|[^\s#'"\[\]{}|>&*!%@`][^#]*?))?[ \t]*(?:[ \t]#.*)?\r?$""")
_MAPPING_ENTRY = re.compile(rb"""[^\s'"][^#]*?:(?:[ \t]|$)""")


def _unmasked(item: bytes) -> bool:
    """An item to mask: not null or a boolean, and not masked already (`Basic ***HIDDEN***`, a token)."""
    return item not in _NOT_VALUES and item.strip(b"\"'") not in _NOT_VALUES and not holds_mask(item)


@dataclass(frozen=True)
class SecretAssignmentRule(Rule):
    """`NAME=value`, `name: value`, `"name": "value"` where the name holds a secret (`secret_name`);
    a YAML block scalar (`password: |`) masks the more-indented lines that follow, and a list under
    such a name (`passwords: [a, b]`, `- a` lines, a JSON array over many lines) has each of its own
    scalar items masked (mappings in it are left to the rules: their keys are judged themselves).

    The value is captured in a lookahead, so a non-secret pair consumes only its name: a secret inside
    another pair's quoted value (`msg="retry password=x"`) is still found."""

    name: str
    folded: tuple[bytes, ...]
    requires: tuple[bytes, ...] = ()
    headers: bool = False   # only the lists under a credential header's name (Authorization, Cookie)

    def open(self) -> Session:
        return _AssignmentSession(self.headers)


class _AssignmentSession(_BlockSession):
    indent = 0                 # the key's column: a block scalar's lines, a block list's items are further in
    mode = b""                 # while pending: b"|" a block scalar, b"-" a block list, b"[" a flow list
    items_at: int | None = None   # a block list's item column, once its first item is seen
    depth = 0                  # a flow list's nesting (1: its own items)

    def __init__(self, headers: bool) -> None:
        super().__init__()
        self.headers = headers

    def feed(self, line: bytes, previous: bytes) -> tuple[bytes, int]:
        if self.pending:
            if not line.strip():
                return line, 0
            if self.mode == b"|":
                if len(line) - len(line.lstrip(b" \t")) > self.indent:
                    return self.mask_body(line)
                self.pending = False
            elif self.mode == b"[":
                return splice(line, sorted([*self._flow(line, 0), *self._pairs(line)]))
            elif (item := self._block_item(line)) is not None:
                return splice(line, sorted([*item, *self._pairs(line)]))
        return splice(line, sorted(self._pairs(line)))

    def _pairs(self, line: bytes) -> list[list[Edit]]:
        return [edits for match in _KEY_VALUE.finditer(line) if (edits := self._edits(line, match))]

    def _edits(self, line: bytes, match: re.Match[bytes]) -> list[Edit]:
        listed = match["list"] is not None or match["end"] is not None
        secret = secret_name(match["name"])
        header_list = listed and not secret and secret_key(match["name"])
        if header_list != self.headers or not (secret or header_list):
            return []   # each name is one instance's: a secret's name, or a header's with a list
        if match["list"] is not None:
            self.depth, self.context = 0, match["name"]
            return [edit for item in self._flow(line, match.start("list")) for edit in item]
        if match["end"] is not None:
            if match["sep"] == b":":   # `passwords:` at the end of a line: a block list may follow
                self.pending, self.mode, self.items_at = True, b"-", None
                self.indent, self.context = match.start("name"), match["name"]
            return []
        bare = match["bare"]
        if bare is not None and _BLOCK_INDICATOR.fullmatch(bare):
            if match["sep"] == b":" and not line[match.end("bare"):].split(b"#", 1)[0].strip():
                self.open_block(match["name"])
                self.mode, self.indent = b"|", match.start("name")
            return []
        return mask_values(match, *_VALUE_GROUPS, quote_bare=match["sep"] == b":")

    def _flow(self, line: bytes, start: int) -> list[list[Edit]]:
        """Mask the list's own scalar items from `start` on; a list left open goes on on the next lines."""
        found: list[list[Edit]] = []
        for token in _FLOW_TOKEN.finditer(line, start):
            if token["open"]:
                self.depth += 1
            elif token["close"]:
                self.depth -= 1
                if self.depth <= 0:
                    break
            elif token["item"] and self.depth == 1 and _unmasked(token["item"]):
                found.append([(token.start("item"), token.end("item"), self._item_mask(token["item"]))])
            elif token["other"] and self.depth <= 0:
                break
        self.pending, self.mode = self.depth > 0, b"["
        return found

    def _block_item(self, line: bytes) -> list[list[Edit]] | None:
        """A block list's item masked ([] for one that is a mapping or list; None when the list has ended:
        the line is then a line like any other)."""
        indent = len(line) - len(line.lstrip(b" \t"))
        item = _BLOCK_ITEM.fullmatch(line)
        if item is not None and indent >= self.indent and self.items_at in (None, indent):
            self.items_at = indent
            value = item["item"]
            if value is None or not _unmasked(value) or _MAPPING_ENTRY.match(value):
                return []
            return [[(item.start("item"), item.end("item"), self._item_mask(value))]]
        if self.items_at is not None and indent > self.items_at:
            return []   # a line inside an item (a mapping's next key): its own pairs still count
        self.pending = False
        return None

    def _item_mask(self, item: bytes) -> bytes:
        """A list item's mask, quoted (a list item may be bare), named by the list's key."""
        return quoted(masked(unquoted(item), self.context))


_PEM_LABEL = rb"(?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----"
_BEGIN = re.compile(rb"-----BEGIN " + _PEM_LABEL)
_END = re.compile(rb"-----END " + _PEM_LABEL)
_INLINE_KEY_BODY = masking(rb"-----BEGIN " + _PEM_LABEL + rb"(?P<body>.+?)(?=-----END " + _PEM_LABEL + rb")",
                           "body")
_PEM_BODY = re.compile(rb"[ \t]*(?:[A-Za-z0-9+/=]+|(?:Proc-Type|DEK-Info|Comment): .*)[ \t\r]*")


@dataclass(frozen=True)
class PrivateKeyRule(Rule):
    """PEM private keys: on one line (escaped newlines in JSON), the text between the markers; across
    lines, each body line. A line that cannot be PEM body (not base64, not a `Proc-Type:` header) ends
    the block, so a stray BEGIN in a log cannot mask the rest of the file."""

    name: str
    needles: tuple[bytes, ...]

    def open(self) -> Session:
        return _PrivateKeySession()


class _PrivateKeySession(_BlockSession):
    def feed(self, line: bytes, previous: bytes) -> tuple[bytes, int]:
        if self.pending:
            if _END.search(line):
                self.pending = False
                return line, 0
            if not line.strip():
                return line, 0
            if _PEM_BODY.fullmatch(line):
                return self.mask_body(line)
            self.pending = False
        line, count = _INLINE_KEY_BODY.apply(line)
        begins = list(_BEGIN.finditer(line))
        if begins and not _END.search(line, begins[-1].end()):
            self.open_block(b"private key")
        return line, count


# --- the built-in set, in the order it runs -----------------------------------------------------------

_KURL_INSTALLER = re.compile(
    r"cluster-resources/custom-resources/installers\.cluster\.kurl\.sh(?:\.json|/[^/]*\.json)")


def _json_string_field(key: bytes) -> Substitution:
    """A JSON string field's value, escapes and all (troubleshoot's kurl installer redactors)."""
    return masking(rb'"' + key + rb'"\s*:\s*"(?P<dq>(?:\\.|[^"\\])*)"', "dq", flags=re.I)


_SECRET_COLLECTOR_FILE = re.compile(r"secrets/.*\.json")

# `Cookie: a=1; b=2` (every value) and `Set-Cookie: id=1; Path=/; HttpOnly` (the cookie's, not its attributes'),
# as a header line, an `http.Header` in JSON (`"Set-Cookie": ["id=1; Path=/"]`) or Go's `map[Cookie:[a=1]]`.
_COOKIE_HEADER = re.compile(rb"(?i)(?<![\w-])(?:set-)?cookie2?(?:\\*[\"'])?[ \t]*[:=][ \t]*(?:\[[ \t]*)?"
                            rb"(?:\\*[\"'])?(?P<pairs>[^\r\n\"'\]\\]*)")
_COOKIE_PAIR = re.compile(rb"(?:^|;)[ \t]*(?P<name>[^=;,\s]+)=(?P<value>[^;,\s]*)")
_COOKIE_ATTRIBUTES = frozenset({b"path", b"domain", b"expires", b"max-age", b"samesite", b"priority", b"version",
                                b"comment", b"secure", b"httponly", b"partitioned"})


_FIRST_COOKIE = re.compile(rb"[ \t]*(?P<value>[^;,\s]+)")


def _cookie_values(match: re.Match[bytes]) -> list[Edit]:
    """Every cookie's value, named by its cookie; a first cookie without a name or value (`Cookie: abc`,
    `abc==`) is a value all the same, named by the header."""
    start = match.start("pairs")
    edits = [(start + pair.start("value"), start + pair.end("value"), masked(pair["value"], pair["name"]))
             for pair in _COOKIE_PAIR.finditer(match["pairs"])
             if pair["value"].strip(b"=") and pair["name"].lower() not in _COOKIE_ATTRIBUTES
             and not is_mask(pair["value"])]
    first = _FIRST_COOKIE.match(match["pairs"])
    if first and not first["value"].partition(b"=")[2].strip(b"=") and not is_mask(first["value"]) \
            and first["value"].partition(b"=")[0].lower() not in _COOKIE_ATTRIBUTES:
        edits.insert(0, (start + first.start("value"), start + first.end("value"),
                         masked(first["value"], context_of(match, "pairs"))))
    return edits


def _secret_flag(match: re.Match[bytes]) -> list[Edit]:
    return mask_values(match, "quoted", "value") if secret_name(match["name"].lstrip(b"-")) else []   # a regex
    # beginning with a literal `-` is searched at C speed; a lookbehind first would be tried at every byte


BUILTIN_RULES: tuple[Rule, ...] = (
    SubstitutionRule("aws-access-key-id", (masking(
        rb"(?<![A-Z0-9])(?P<id>(?:AKIA|ASIA)[A-Z0-9]{16})(?![A-Z0-9])", "id"),), needles=(b"AKIA", b"ASIA")),
    SubstitutionRule("json-env-value", (_json_env(escaped=False), _json_env(escaped=True)),
                     folded=(b"value",), requires=(b'"name',)),
    LookBackRule("json-env-value-multiline",
                 _selector(rb'"name"\s*:\s*"(?P<name>[^"\\]*)"\s*,?\s*$', secret_env_name),
                 _JSON_VALUE_LINE, folded=(b"value",), requires=(b'"value"',)),
    LookBackRule("yaml-env-value-multiline",
                 _selector(rb"^\s*(?:-\s+)?name:[ \t]*([\"']?)(?P<name>[^\"'\s]+)\1\s*$", secret_env_name),
                 _YAML_VALUE_LINE, folded=(b"value",), requires=(b"value:",)),
    LookBackRule("ceph-auth-key", _selector(rb'"entity"\s*:\s*"(?:osd|client|mgr)\.'),
                 masking(rb'"key"\s*:\s*"(?P<dq>.{38}==[^"]*)"', "dq", flags=re.I), folded=(b'"key"',)),
    # Patterns begin with a literal where they can: the regex engine then skips to it at C speed.
    SubstitutionRule("url-credentials", (masking(
        rb"://(?P<user>[^\s:/?#@\"'<>]*):(?P<password>[^\s/?#\"'<>]*)@", "user", "password"),),
        needles=(b"@",), requires=(b"://",)),
    SubstitutionRule("mysql-dsn", (masking(
        rb"(?<![\w.\-])(?P<user>[\w.\-]*):(?P<password>[^\s\"']*)@(?:tcp6?|unix|udp)\(",
        "user", "password"),),
        needles=(b"@tcp(", b"@tcp6(", b"@unix(", b"@udp(")),
    SubstitutionRule("connection-string-fields", (masking(
        rb"\b(?:data source|location|user id|password|server|database|uid|pwd) *= *(?P<value>[^;]+);",
        "value", flags=re.I),), needles=(b";",), requires=(b"=",)),
    # a header's value, or the first of a list of them (`"Authorization": ["Bearer x"]`, Go's http.Header);
    # never a structure (`"authorization": {` in a CRD's schema)
    SubstitutionRule("authorization-header", (masking(
        rb"(?<![\w-])(?:proxy-)?authorization(?:\\*[\"'])?[ \t]*[:=][ \t]*(?:\[[ \t]*)?(?:\\*[\"'])?[ \t]*"
        rb"(?:(?:bearer|basic|digest|token|negotiate|ntlm)[ \t]+)?(?P<credentials>[^\s\"',\[\]{}\\][^\s\"',\]\\]*)",
        "credentials", flags=re.I),), folded=(b"authorization",)),
    SubstitutionRule("jwt", (masking(
        rb"(?P<jwt>eyJ(?<![\w-]eyJ)[\w-]{8,}\.eyJ[\w-]{8,}\.[\w-]*)", "jwt"),), needles=(b"eyJ",)),
    # Tokens whose prefix names them (GitHub's `ghp_`, `gho_`, `ghu_`, `ghs_`, `ghr_`, `github_pat_`; Slack's
    # `xoxb-`, `xoxp-`, `xoxa-`, `xoxr-`, `xoxs-`, `xoxo-`, app-level `xapp-`): wherever they stand.
    SubstitutionRule("github-token", (masking(
        rb"(?<![A-Za-z0-9_])(?P<token>gh[pousr]_[A-Za-z0-9]{36,251}|github_pat_[A-Za-z0-9_]{50,251})(?![A-Za-z0-9_])",
        "token"),), scan=re.compile(rb"g(?:h[pousr]|ithub_pat)_")),
    SubstitutionRule("slack-token", (masking(
        rb"(?<![A-Za-z0-9-])(?P<token>(?:xox[abposr]|xapp)-[0-9A-Za-z-]{10,250})", "token"),),
        scan=re.compile(rb"x(?:ox[abposr]|app)-")),
    SubstitutionRule("cookie-header", (Substitution(_COOKIE_HEADER, _cookie_values),), folded=(b"cookie",)),
    # curl's `-u user:password` (`--user`, `--proxy-user`, `-U`): the password; the user is kept
    SubstitutionRule("curl-user", (masking(
        rb"(?i)\bcurl\b.*?(?<![\w-])(?:-u|--user|--proxy-user)(?:[ \t]+|=)\\*[\"']?[^\s:\"'\\]*:"
        rb"(?P<password>[^\s\"'\\]+)", "password"),), folded=(b"curl",), requires=(b"-u",)),
    # `--password pw`, `--client-secret "pw"`: a flag that names a secret, its value after a space
    SubstitutionRule("secret-flag", (Substitution(re.compile(
        rb"-(?<![^\s\"'=\[,(]-)(?P<name>-?[\w.-]*?(?i:pass|secret|token|credential|key)[\w.-]*)[ \t]+"
        rb"(?:(?P<q>[\"'])(?P<quoted>[^\"']+)(?P=q)|(?P<value>[^\s\"'-]\S*))"), _secret_flag),),
        folded=(b"pass", b"secret", b"token", b"credential", b"key"), requires=(b"-",)),
    SecretAssignmentRule("secret-assignment", folded=(b"pass", b"secret", b"token", b"credential", b"key")),
    # `"Authorization": [` / `Cookie: [`: the header's values as a list (Go's http.Header, in JSON over many
    # lines); `rbac.authorization.k8s.io` on every RBAC object has no `[` after it and costs nothing
    SecretAssignmentRule("credential-header-list", folded=(b"authorization", b"cookie"), requires=(b"[",),
                         headers=True),
    PrivateKeyRule("private-key", needles=(b"PRIVATE KEY",)),
    SubstitutionRule("kurl-installer-fields", tuple(_json_string_field(key) for key in (
        rb"bootstrapToken", rb"certKey", rb"kubeadmToken",
        rb"kubectl\.kubernetes\.io/last-applied-configuration")),
        folded=(b"bootstraptoken", b"certkey", b"kubeadmtoken", b"last-applied-configuration"),
        path=_KURL_INSTALLER),
    # The secret collector's own files: a value fetched with includeValue / includeAllData is still
    # masked while redaction is on (every string but namespace, name and key is a secret's value).
    SubstitutionRule("secret-collector-values", (masking(
        rb'"(?!(?:namespace|name|key)"\s*:)(?:[^"\\]|\\.)*"\s*:\s*"(?P<dq>(?:\\.|[^"\\])*)"', "dq"),),
        needles=(b'":',), path=_SECRET_COLLECTOR_FILE),
)
