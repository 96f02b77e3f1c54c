"""Issue 18's correctness checks with tokenization on: the planted corpus, the document structure and the
fuzz's finds, each redacted once with ***HIDDEN*** and once through a Tokenizer. A tokenized file must be
the hidden one with a token wherever the hidden one has ***HIDDEN*** (so every shape the rules mask is
tokenized, no twin is touched and every document keeps its shape), and every token in it must stand for
a value that holds the planted secret."""
from __future__ import annotations

import gzip
import json
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings

from reconciler.redact import jsonline, redact_tree
from reconciler.redact.masker import MASK, TOKEN
from reconciler.redact.tokens import Tokenizer

from .corpus import FALSE_ALARMS, MISSED, SHAPES
from .test_structure import FORMATS, documents, load, same_shape, secrets_in
from .test_structure import troubleshoot_documents  # noqa: F401  # the fixture

SALT = b"\x05" * 32


def redact_both(tmp_path: Path, files: dict[str, bytes]) -> tuple[dict[str, bytes], dict[str, bytes], Tokenizer]:
    """The files redacted with ***HIDDEN*** and with tokens (gzip ones read back decompressed), and the
    tokenizer that made the tokens."""
    tokenizer = Tokenizer(SALT)
    out = []
    for masker in (None, tokenizer):
        root = tmp_path / ("tokens" if masker else "hidden")
        for name, data in files.items():
            (root / name).parent.mkdir(parents=True, exist_ok=True)
            (root / name).write_bytes(gzip.compress(data) if name.endswith(".gz") else data)
        redact_tree(root, masker=masker)
        out.append({name: gzip.decompress((root / name).read_bytes()) if name.endswith(".gz")
                    else (root / name).read_bytes() for name in files})
    return out[0], out[1], tokenizer


def tokens_for(tokenizer: Tokenizer, data: bytes) -> dict[bytes, bytes]:
    """Each token in `data`, with the value the tokenizer issued it for (a token it never issued fails)."""
    return {match[0]: tokenizer.tokens[match[0].decode()].value for match in TOKEN.finditer(data)}


def as_hidden(data: bytes) -> bytes:
    return TOKEN.sub(MASK, data)


def load_text(file: str, text: str) -> list[Any]:
    return [json.loads(text)] if file.endswith(".json") else list(yaml.safe_load_all(text))


@pytest.mark.parametrize("name, file, text, secret, twin", SHAPES, ids=[shape[0] for shape in SHAPES])
def test_each_planted_secret_is_tokenized_and_its_twin_left_alone(tmp_path: Path, name: str, file: str, text: str,
                                                                  secret: str, twin: str) -> None:
    hidden, tokenized, tokenizer = redact_both(tmp_path, {f"pos/{file}": text.encode(), f"neg/{file}": twin.encode()})
    positive, negative = tokenized[f"pos/{file}"], tokenized[f"neg/{file}"]
    assert as_hidden(positive) == hidden[f"pos/{file}"] and as_hidden(negative) == hidden[f"neg/{file}"]
    assert MASK not in positive and MASK not in negative
    assert (negative != twin.encode()) is (name in FALSE_ALARMS)
    if name in MISSED:
        return
    found = tokens_for(tokenizer, positive)
    assert secret.encode() not in positive and any(secret.encode() in value for value in found.values()), found
    if file.endswith((".json", ".yaml")):
        before, after = load_text(file, text), load_text(file, positive.decode())
        assert same_shape(before, after), positive


@settings(max_examples=100, deadline=None, suppress_health_check=list(HealthCheck))
@given(document=documents())
def test_generated_documents_keep_their_shape_with_every_secret_tokenized(
        tmp_path_factory: pytest.TempPathFactory, document: Any) -> None:
    files = {name: dump(document).encode() for name, dump in FORMATS.items()}
    hidden, tokenized, tokenizer = redact_both(tmp_path_factory.mktemp("generated"), files)
    secrets = secrets_in(document)
    for name, data in tokenized.items():
        [after] = load_text(name, data.decode())
        assert same_shape(document, after), (name, data)
        assert as_hidden(data) == hidden[name], (name, data, hidden[name])
        assert not {secret for secret in secrets if secret.encode() in data}, (name, data)
        values = tokens_for(tokenizer, data).values()
        assert all(any(secret.encode() in value for value in values) for secret in secrets), (name, data)


def test_every_troubleshoot_fixture_document_keeps_its_shape_when_tokenized(
        troubleshoot_documents: Path, tmp_path: Path) -> None:
    root = tmp_path / "bundle"
    shutil.copytree(troubleshoot_documents, root)
    files = sorted(p for p in root.rglob("*") if p.suffix in (".json", ".yaml") and p.is_file() and not p.is_symlink())
    before = {path: load(path) for path in files}
    masks = {path: path.read_bytes().count(MASK) for path in files}   # troubleshoot masked some already
    tokenizer = Tokenizer(SALT)
    redact_tree(root, masker=tokenizer)
    assert tokenizer.tokens   # the fixtures hold secrets: the check ran with tokens in the documents
    for path in files:
        assert same_shape(before[path], load(path)), path
        assert path.read_bytes().count(MASK) == masks[path], path


@pytest.mark.parametrize("text, secret", [
    ('--password Zf1800kx"', "Zf1800kx"),
    (json.dumps({"Set-Cookie": "Zf459k"}), "Zf459k"),
    (json.dumps({"Set-Cookie": "Zf4076k/+="}), "Zf4076k"),
    ("Cookie: Zf77k; Path=/", "Zf77k"),
    (json.dumps({"passwords": ["Zf1k", "Zf2k"], "Authorization": ["Bearer Zf3k"]}), "Zf1k"),
    ("passwords:\n  - Zf4k\n  - 'Zf5k'\n", "Zf5k"),
    (json.dumps({"warning": 'password=Zf6k\\"def tail'}), "Zf6k"),   # the edit cuts an escape: the string goes whole
])
def test_what_the_fuzz_found_is_tokenized_too(tmp_path: Path, text: str, secret: str) -> None:
    name = "f.json" if text.startswith("{") else "f.yaml" if text.startswith("passwords:") else "f.log"
    hidden, tokenized, tokenizer = redact_both(tmp_path, {name: text.encode() + b"\n"})
    assert as_hidden(tokenized[name]) == hidden[name] and MASK not in tokenized[name]
    assert any(secret.encode() in value for value in tokens_for(tokenizer, tokenized[name]).values())


def test_a_json_string_masked_whole_gets_the_maskers_answer_for_its_text_escaped() -> None:
    line = json.dumps({"note": 'x\\"y', "n": 1}).encode()          # {"note": "x\\\"y", "n": 1}
    start = line.index(b"x")
    asked: list[tuple[bytes, bytes]] = []

    def mask(value: bytes, key: bytes) -> bytes:
        asked.append((value, key))
        return b'q"\\'   # whatever a masker answers is escaped into a JSON string

    edits = jsonline.fit(line, [(start, start + 2, b"M")], mask)   # ends inside the escape `\\`
    assert asked == [(b'x\\"y', b"note")]
    [(begin, end, text)] = edits
    assert json.loads(line[:begin] + text + line[end:]) == {"note": 'q"\\', "n": 1}
