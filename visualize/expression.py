"""Expressions from untrusted text, evaluated on `Value`s without running any code.

The text is parsed with `ast` and then walked by hand: only numbers, the variables given, the
operators `+ - * / **` (and unary minus), and calls of a fixed set of functions are allowed.
Anything else (attribute access, other names or calls, subscripts, lambdas, comprehensions...)
is refused with `ExpressionError` before anything is evaluated.
"""

from __future__ import annotations

import ast
import math
import warnings
from collections.abc import Callable, Mapping
from typing import TypeGuard

from autograd_core import Value, ops
from autograd_core.engine import as_value

# The whitelist: name -> (number of arguments, the Value method), for every function of the op
# table (`ops.FUNCTIONS`), and nothing else.
FUNCTIONS: dict[str, tuple[int, Callable[..., Value]]] = {
    name: (op.arity or 1, getattr(Value, name)) for name, op in ops.FUNCTIONS.items()
}
OPERATORS: dict[type, Callable[[Value, Value], Value]] = {
    ast.Add: lambda a, b: a + b,
    ast.Sub: lambda a, b: a - b,
    ast.Mult: lambda a, b: a * b,
    ast.Div: lambda a, b: a / b,
    ast.Pow: lambda a, b: a**b,
}
MAX_LENGTH = 10_000

# What a refusal says, in the words a user knows (never a syntax-tree class name), and what to
# write instead where there is something.
_OPERATOR_WORDS: dict[type, str] = {
    ast.Mod: "% is not supported; there is no remainder op, so write x - n * y with n a number",
    ast.FloorDiv: "// is not supported; use / (values are real numbers)",
    ast.MatMult: "@ is not supported; values are scalars, so use *",
    ast.BitXor: "^ is not supported; use ** for powers",
    ast.BitAnd: "& is not supported; use * or max(a, b)",
    ast.BitOr: "| is not supported; use + or max(a, b)",
    ast.LShift: "<< is not supported; use * 2 ** n",
    ast.RShift: ">> is not supported; use / 2 ** n",
    ast.Invert: "~ is not supported; use - to negate",
    ast.Not: "not is not supported; use - to negate",
}
_NODE_WORDS: dict[type, str] = {
    ast.IfExp: "conditional expressions are not supported; use max(a, b) or relu(x)",
    ast.Compare: "comparisons are not supported; use max(a, b) or relu(x)",
    ast.BoolOp: "and / or are not supported; use max(a, b)",
    ast.Attribute: "attribute access (a.b) is not supported; call a function by its name",
    ast.Subscript: "indexing (a[i]) is not supported; name each value",
    ast.Lambda: "lambda is not supported; write the expression itself",
    ast.ListComp: "comprehensions are not supported; write the terms out",
    ast.SetComp: "comprehensions are not supported; write the terms out",
    ast.DictComp: "comprehensions are not supported; write the terms out",
    ast.GeneratorExp: "comprehensions are not supported; write the terms out",
    ast.List: "lists are not supported; an expression has one value",
    ast.Tuple: "tuples (a, b) are not supported; an expression has one value",
    ast.Set: "sets are not supported; an expression has one value",
    ast.Dict: "dictionaries are not supported; an expression has one value",
    ast.NamedExpr: ":= is not supported; give the variable's value as NAME=VALUE",
    ast.JoinedStr: "strings are not supported; only numbers are allowed",
    ast.Await: "await is not supported",
    ast.Yield: "yield is not supported",
    ast.YieldFrom: "yield is not supported",
}


class ExpressionError(ValueError):
    """The expression is not one this evaluator accepts, or fails on the values given."""


def parse(text: str, variables: Mapping[str, float]) -> ast.expr:
    """Parse and check the whole expression; raise ExpressionError naming the first problem."""
    if not text.strip():
        raise ExpressionError("the expression is empty")
    if len(text) > MAX_LENGTH:
        raise ExpressionError(f"the expression is longer than {MAX_LENGTH} characters")
    try:
        # Python's own SyntaxWarnings ("invalid decimal literal" for `1if x else 2`) would be a
        # second line on stderr; the check below says what is wrong in one
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", SyntaxWarning)
            warnings.simplefilter("ignore", DeprecationWarning)  # "\\d" before Python 3.12
            tree = ast.parse(text.strip(), mode="eval")
    except SyntaxError as error:
        if "4300 digits" in str(error.msg):  # Python's words advise sys.set_int_max_str_digits
            raise ExpressionError(
                "a number in the expression has more than 4300 digits; numbers here are 64-bit "
                "floats (at most about 1.8e308)"
            ) from None
        raise ExpressionError(f"not a valid expression: {error.msg}") from None
    except ValueError as error:  # e.g. a null byte in the text
        raise ExpressionError(f"not a valid expression: {error}") from None
    except (RecursionError, MemoryError):
        raise ExpressionError("the expression is nested too deeply") from None
    try:
        _check(tree.body, variables)
    except RecursionError:
        raise ExpressionError("the expression is nested too deeply") from None
    return tree.body


def _check(node: ast.AST, variables: Mapping[str, float]) -> None:
    if isinstance(node, ast.Constant):
        if isinstance(node.value, complex):
            raise ExpressionError(f"only real numbers are allowed, not {node.value!r}")
        if not _is_number(node.value):
            # as written (`...`, not its repr `Ellipsis`)
            raise ExpressionError(f"only numbers are allowed as constants, not {ast.unparse(node)}")
    elif isinstance(node, ast.Name):
        if node.id not in variables:
            known = ", ".join(sorted(variables)) or "none"
            raise ExpressionError(f"unknown name {node.id!r} (variables given: {known})")
    elif isinstance(node, ast.BinOp):
        if type(node.op) not in OPERATORS:
            raise ExpressionError(
                _OPERATOR_WORDS.get(type(node.op), "this operator is not supported")
            )
        _check(node.left, variables)
        _check(node.right, variables)
    elif isinstance(node, ast.UnaryOp):
        if not isinstance(node.op, (ast.USub, ast.UAdd)):
            raise ExpressionError(
                _OPERATOR_WORDS.get(type(node.op), "this operator is not supported")
            )
        _check(node.operand, variables)
    elif isinstance(node, ast.Call):
        name = node.func.id if isinstance(node.func, ast.Name) else None
        if name not in FUNCTIONS:
            allowed = ", ".join(sorted(FUNCTIONS))
            raise ExpressionError(f"only these functions can be called: {allowed}")
        arity = FUNCTIONS[name][0]
        if (
            node.keywords
            or len(node.args) != arity
            or any(isinstance(a, ast.Starred) for a in node.args)
        ):
            raise ExpressionError(f"{name} takes {arity} plain argument{'s' * (arity > 1)}")
        for argument in node.args:
            _check(argument, variables)
    else:
        raise ExpressionError(
            _NODE_WORDS.get(type(node), "this kind of expression is not supported")
        )


def evaluate(text: str, variables: Mapping[str, float]) -> tuple[Value, dict[str, Value]]:
    """The expression's output Value and the leaf Value of each variable (labelled by name)."""
    tree = parse(text, variables)
    leaves = {name: Value(float(value), name) for name, value in variables.items()}
    try:
        out = _evaluate(tree, leaves)
    except (ValueError, ZeroDivisionError, OverflowError, TypeError) as error:
        raise ExpressionError(str(error)) from None
    except RecursionError:
        raise ExpressionError("the expression is nested too deeply") from None
    if not math.isfinite(out.data):
        raise ExpressionError(f"the expression evaluates to {out.data}")
    return out, leaves


def _number(node: ast.expr) -> float | None:
    """The value of a plain (possibly negated) number constant, else None."""
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        inner = _number(node.operand)
        return None if inner is None else (-inner if isinstance(node.op, ast.USub) else inner)
    if isinstance(node, ast.Constant) and _is_number(node.value):
        return float(node.value)
    return None


def _is_number(value: object) -> TypeGuard[int | float]:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _evaluate(node: ast.expr, leaves: Mapping[str, Value]) -> Value:
    # Only the node types `_check` let through can reach here.
    if isinstance(node, ast.Constant):
        value = _number(node)
        assert value is not None  # `_check` lets only numbers through
        return as_value(value)  # a constant of the expression, drawn as one
    if isinstance(node, ast.Name):
        return leaves[node.id]
    if isinstance(node, ast.BinOp):
        exponent = _number(node.right) if isinstance(node.op, ast.Pow) else None
        if exponent is not None:  # x ** 2 is the one-node power, not exp(2 * log(x))
            return _evaluate(node.left, leaves) ** exponent
        return OPERATORS[type(node.op)](_evaluate(node.left, leaves), _evaluate(node.right, leaves))
    if isinstance(node, ast.UnaryOp):
        operand = _evaluate(node.operand, leaves)
        return -operand if isinstance(node.op, ast.USub) else operand
    assert isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
    function = FUNCTIONS[node.func.id][1]
    return function(*(_evaluate(argument, leaves) for argument in node.args))
