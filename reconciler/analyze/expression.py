"""The expressions troubleshoot's http analyzers evaluate with govaluate, the part specs use:
`statusCode == 200`, `statusCode >= 300 || statusCode < 200`, `!(statusCode == 204)`: numbers, quoted
strings, true/false, variables, == != < <= > >=, && || ! and parentheses. Pure."""
from __future__ import annotations

import operator
import re
from typing import Any, Callable, Mapping

Node = Callable[[Mapping[str, Any]], Any]
_OPERATORS: dict[str, Callable[[Any, Any], Any]] = {
    "==": operator.eq, "!=": operator.ne, "<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge,
}


class ExpressionError(ValueError):
    """An expression that cannot be parsed or evaluated; the message reads like troubleshoot's."""


def _compare(op: str, left: Any, right: Any) -> bool:
    try:
        return bool(_OPERATORS[op](left, right))
    except TypeError:
        raise ExpressionError(f"failed to evaluate expression: cannot compare {left!r} {op} {right!r}") from None


def parse(text: str) -> Node:
    """A function of the variables, or ExpressionError."""
    return _ExprParser(text).parse()


def variables(text: str) -> set[str]:
    return {token for kind, token in _ExprParser(text).tokens if kind == "ident" and token not in ("true", "false")}


_TOKEN = re.compile(r"\s*(?:(\d+(?:\.\d+)?)|('[^']*'|\"[^\"]*\")|([A-Za-z_][A-Za-z0-9_]*)|(==|!=|<=|>=|&&|\|\||[<>()!]))")


class _ExprParser:
    def __init__(self, text: str) -> None:
        self.tokens: list[tuple[str, str]] = []
        pos, text = 0, text.strip()
        while pos < len(text):
            match = _TOKEN.match(text, pos)
            if not match or match.end() == pos:
                raise ExpressionError(f"failed to create evaluable expression: invalid token at {text[pos:]!r}")
            kind = ("num", "str", "ident", "op")[[g is not None for g in match.groups()].index(True)]
            self.tokens.append((kind, next(g for g in match.groups() if g is not None)))
            pos = match.end()
            while pos < len(text) and text[pos].isspace():
                pos += 1
        self.i = 0

    def parse(self) -> Node:
        if not self.tokens:
            raise ExpressionError("failed to create evaluable expression: empty expression")
        node = self._or()
        if self.i != len(self.tokens):
            raise ExpressionError(f"failed to create evaluable expression: unexpected {self.tokens[self.i][1]!r}")
        return node

    def _peek(self) -> str | None:
        return self.tokens[self.i][1] if self.i < len(self.tokens) else None

    def _or(self) -> Node:
        left = self._and()
        while self._peek() == "||":
            self.i += 1
            right, first = self._and(), left
            left = (lambda a, b: lambda env: bool(a(env)) or bool(b(env)))(first, right)
        return left

    def _and(self) -> Node:
        left = self._not()
        while self._peek() == "&&":
            self.i += 1
            right, first = self._not(), left
            left = (lambda a, b: lambda env: bool(a(env)) and bool(b(env)))(first, right)
        return left

    def _not(self) -> Node:
        if self._peek() == "!":
            self.i += 1
            inner = self._not()
            return lambda env: not inner(env)
        return self._comparison()

    def _comparison(self) -> Node:
        left = self._term()
        op = self._peek()
        if op in ("==", "!=", "<", "<=", ">", ">="):
            self.i += 1
            right = self._term()
            return lambda env: _compare(op, left(env), right(env))
        return left

    def _term(self) -> Node:
        if self.i >= len(self.tokens):
            raise ExpressionError("failed to create evaluable expression: unexpected end of expression")
        kind, text = self.tokens[self.i]
        self.i += 1
        if kind == "num":
            number = float(text)
            return lambda env: number
        if kind == "str":
            return lambda env: text[1:-1]
        if kind == "ident":
            if text in ("true", "false"):
                return lambda env: text == "true"

            def variable(env: Mapping[str, Any]) -> Any:
                if text not in env:
                    raise ExpressionError(f"failed to evaluate expression: No parameter '{text}' found.")
                return env[text]
            return variable
        if text == "(":
            inner = self._or()
            if self._peek() != ")":
                raise ExpressionError("failed to create evaluable expression: unbalanced parenthesis")
            self.i += 1
            return inner
        raise ExpressionError(f"failed to create evaluable expression: unexpected {text!r}")
