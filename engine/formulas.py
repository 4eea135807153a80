"""Input features written as a formula over x1 and x2 (``"x1*x2"``, ``"sin(x1*x2)"``, ``"sqrt(x1^2+x2^2)"``).

A formula is parsed by the small recursive-descent parser below — never ``eval`` — into a tree of closures
over ``xp`` arrays (NumPy or CuPy), compiled once per text and cached. The grammar (docs/decisions.md)::

    expr   := term (('+' | '-') term)*
    term   := unary (('*' | '/') unary)*
    unary  := ('-' | '+') unary | power
    power  := atom ('^' unary)?            right-associative: 2^3^2 = 2^9; -x1^2 = -(x1^2)
    atom   := number | x1 | x2 | constant | function '(' expr (',' expr)* ')' | '(' expr ')'

``**`` is read as ``^``, and ``− × · ÷`` as ``- * * /``. Numbers are decimal (``3``, ``0.5``, ``.5``,
``1e-3``). Names are only those in :data:`VARIABLES`, :data:`CONSTANTS` and :data:`FUNCTIONS`; anything else
is a :class:`FormulaError` that gives the column (1-based) of the problem and what is allowed there.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Callable

import numpy as np

VARIABLES = ("x1", "x2")
CONSTANTS = {"pi": math.pi, "e": math.e}

# name -> (number of arguments, (xp, *args) -> values). Only functions total on a useful part of the plane
# and present under the same name in NumPy and CuPy.
FUNCTIONS: dict[str, tuple[int, Callable[..., Any]]] = {
    "sin": (1, lambda xp, a: xp.sin(a)),
    "cos": (1, lambda xp, a: xp.cos(a)),
    "tan": (1, lambda xp, a: xp.tan(a)),
    "asin": (1, lambda xp, a: xp.arcsin(a)),
    "acos": (1, lambda xp, a: xp.arccos(a)),
    "atan": (1, lambda xp, a: xp.arctan(a)),
    "atan2": (2, lambda xp, a, b: xp.arctan2(a, b)),
    "sinh": (1, lambda xp, a: xp.sinh(a)),
    "cosh": (1, lambda xp, a: xp.cosh(a)),
    "tanh": (1, lambda xp, a: xp.tanh(a)),
    "exp": (1, lambda xp, a: xp.exp(a)),
    "log": (1, lambda xp, a: xp.log(a)),
    "sqrt": (1, lambda xp, a: xp.sqrt(a)),
    "abs": (1, lambda xp, a: xp.abs(a)),
    "sign": (1, lambda xp, a: xp.sign(a)),
    "hypot": (2, lambda xp, a, b: xp.hypot(a, b)),
    "min": (2, lambda xp, a, b: xp.minimum(a, b)),
    "max": (2, lambda xp, a, b: xp.maximum(a, b)),
}

OPERATORS = ("+", "-", "*", "/", "^")
ALLOWED = (f"numbers, {', '.join(VARIABLES)}, {', '.join(CONSTANTS)}, the operators {' '.join(OPERATORS)} and "
           f"parentheses, and the functions {', '.join(FUNCTIONS)}")

# One closure per tree node: (xp, x1, x2) -> values (an array, or a Python float for a constant part).
Node = Callable[[Any, Any, Any], Any]

_TOKEN = re.compile(r"\s*(?:(?P<number>(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?)"
                    r"|(?P<name>[A-Za-z_][A-Za-z_0-9]*)|(?P<op>\*\*|[-+*/^(),−×·÷]))")
_SYMBOLS = {"−": "-", "×": "*", "·": "*", "÷": "/"}  # as written in the lecture notes, read as their ASCII twins


class FormulaError(ValueError):
    """A formula that does not parse: the message names the formula, the column and what is allowed."""

    def __init__(self, formula: str, column: int, problem: str):
        self.formula, self.column, self.problem = formula, column, problem
        super().__init__(f"feature {formula!r}, column {column}: {problem}; allowed: a feature name, or a "
                         f"formula of {ALLOWED}")


class FormulaValueError(ValueError):
    """A formula that gives a NaN or an infinite value at some point it is evaluated on."""


@dataclass(frozen=True)
class Formula:
    """A compiled formula: ``evaluate(xp, x1, x2)`` gives its values at the points (x1[i], x2[i]) in the
    arrays' dtype; ``dims`` is 2 when it reads x2 (plane data only), else 0 (any data)."""

    text: str
    dims: int
    node: Node

    def evaluate(self, xp: Any, x1: Any, x2: Any) -> Any:
        with np.errstate(all="ignore"):  # log(0), 1/0 and overflow give inf or NaN: check_finite reports them
            values = self.node(xp, x1, x2)
        if isinstance(values, float):  # no variable reached this node: cannot happen for a checked formula
            values = xp.full(x1.shape, values, dtype=x1.dtype)
        return values.astype(x1.dtype, copy=False)


@dataclass
class _Token:
    kind: str  # number, name, op or end
    text: str
    column: int  # 1-based


def _tokens(text: str) -> list[_Token]:
    tokens, pos = [], 0
    while pos < len(text):
        if text[pos:].isspace():
            break
        match = _TOKEN.match(text, pos)
        if match is None:
            column = pos + len(text[pos:]) - len(text[pos:].lstrip()) + 1
            raise FormulaError(text, column, f"unexpected character {text[column - 1]!r}")
        kind = match.lastgroup or "op"
        written = match.group(kind)
        tokens.append(_Token(kind, _SYMBOLS.get(written, written), match.start(kind) + 1))
        pos = match.end()
    tokens.append(_Token("end", "", len(text.rstrip()) + 1))
    return tokens


class _Parser:
    """Recursive descent over the tokens; each method returns the closure of the part it read, and
    ``variables`` collects the variables the formula uses."""

    def __init__(self, text: str):
        self.text, self.tokens, self.at = text, _tokens(text), 0
        self.variables: set[str] = set()

    @property
    def token(self) -> _Token:
        return self.tokens[self.at]

    def fail(self, problem: str, token: _Token | None = None) -> FormulaError:
        return FormulaError(self.text, (token or self.token).column, problem)

    def take(self, *ops: str) -> _Token | None:
        token = self.token
        if token.kind == "op" and token.text in ops:
            self.at += 1
            return token
        return None

    def expect(self, op: str, why: str) -> None:
        if self.take(op) is None:
            raise self.fail(f"expected {op!r} {why}, found {_shown(self.token)}")

    def formula(self) -> Node:
        if self.token.kind == "end":
            raise self.fail("empty formula")
        node = self.expr()
        if self.token.kind != "end":
            raise self.fail(f"expected an operator ({' '.join(OPERATORS)}) or the end, found {_shown(self.token)}")
        return node

    def expr(self) -> Node:
        node = self.term()
        while (op := self.take("+", "-")) is not None:
            node = _binary(op.text, node, self.term())
        return node

    def term(self) -> Node:
        node = self.unary()
        while (op := self.take("*", "/")) is not None:
            node = _binary(op.text, node, self.unary())
        return node

    def unary(self) -> Node:
        if (op := self.take("-", "+")) is not None:
            operand = self.unary()
            return _negate(operand) if op.text == "-" else operand
        return self.power()

    def power(self) -> Node:
        base = self.atom()
        if self.take("^", "**") is not None:
            return _binary("^", base, self.unary())  # the exponent may carry its own sign and power: 2^-x1^2
        return base

    def atom(self) -> Node:
        token = self.token
        if token.kind == "number":
            self.at += 1
            value = float(token.text)
            return lambda xp, x1, x2: value
        if token.kind == "name":
            self.at += 1
            return self.name(token)
        if self.take("(") is not None:
            node = self.expr()
            self.expect(")", f"to close the '(' at column {token.column}")
            return node
        raise self.fail(f"expected a number, a variable, a function or '(', found {_shown(token)}")

    def name(self, token: _Token) -> Node:
        name = token.text
        if name in VARIABLES:
            self.variables.add(name)
            return (lambda xp, x1, x2: x1) if name == "x1" else (lambda xp, x1, x2: x2)
        if name in CONSTANTS:
            value = CONSTANTS[name]
            return lambda xp, x1, x2: value
        if name not in FUNCTIONS:
            raise self.fail(f"unknown name {name!r}", token)
        arity, fn = FUNCTIONS[name]
        self.expect("(", f"after {name}")
        args = [self.expr()]
        while self.take(",") is not None:
            args.append(self.expr())
        if len(args) != arity:
            raise self.fail(f"{name} takes {arity} argument{'s' if arity > 1 else ''}, got {len(args)}", token)
        self.expect(")", f"to close {name}(")
        return _call(fn, args)


def _shown(token: _Token) -> str:
    return "the end" if token.kind == "end" else repr(token.text)


def _binary(op: str, left: Node, right: Node) -> Node:
    if op == "+":
        return lambda xp, x1, x2: left(xp, x1, x2) + right(xp, x1, x2)
    if op == "-":
        return lambda xp, x1, x2: left(xp, x1, x2) - right(xp, x1, x2)
    if op == "*":
        return lambda xp, x1, x2: left(xp, x1, x2) * right(xp, x1, x2)
    if op == "/":
        return lambda xp, x1, x2: _divide(xp, left(xp, x1, x2), right(xp, x1, x2))
    return lambda xp, x1, x2: _power(xp, left(xp, x1, x2), right(xp, x1, x2))


def _divide(xp: Any, a: Any, b: Any) -> Any:
    if isinstance(a, float) and isinstance(b, float):
        return a / b if b != 0 else math.copysign(math.inf, a) if a else math.nan
    return xp.divide(a, b)


def _power(xp: Any, a: Any, b: Any) -> Any:
    if isinstance(a, float) and isinstance(b, float):
        try:
            return float(a ** b) if not (a < 0 and not b.is_integer()) else math.nan
        except (OverflowError, ZeroDivisionError):
            return math.inf
    return xp.power(a, b)


def _negate(node: Node) -> Node:
    return lambda xp, x1, x2: -node(xp, x1, x2)


def _call(fn: Callable[..., Any], args: list[Node]) -> Node:
    def call(xp: Any, x1: Any, x2: Any) -> Any:
        values = [arg(xp, x1, x2) for arg in args]
        if all(isinstance(v, float) for v in values):  # a constant part, such as sqrt(2): on a 0-d array
            with np.errstate(all="ignore"):
                return float(fn(np, *(np.float64(v) for v in values)))
        return fn(xp, *values)
    return call


@lru_cache(maxsize=256)
def compile_formula(text: str) -> Formula:
    """The compiled :class:`Formula` of ``text`` (cached per text), or :class:`FormulaError`."""
    parser = _Parser(text)
    try:
        node = parser.formula()
    except RecursionError:  # only with a formula length limit raised far above the default's 100
        raise FormulaError(text, 1, "nested too deeply") from None
    if not parser.variables:
        raise FormulaError(text, 1, "the formula uses neither x1 nor x2 (a constant input is the bias's job)")
    return Formula(text, 2 if "x2" in parser.variables else 0, node)


def check_finite(xp: Any, formula: str, values: Any, x1: Any, x2: Any) -> None:
    """Raise :class:`FormulaValueError` naming the formula and its first non-finite point, if it has one."""
    bad = ~xp.isfinite(values)
    if bool(bad.any()):
        i = int(xp.argmax(bad))
        raise FormulaValueError(
            f"features: {formula!r} is {float(values[i])} at (x1, x2) = ({float(x1[i]):.4g}, {float(x2[i]):.4g}); "
            f"a feature must be finite at every data and grid point (guard it, e.g. log(abs(x1) + 1))")
