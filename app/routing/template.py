"""Reply templates: a small, safe subset of Jinja over `ticket` and `requester`. Pure.

`{{ requester.name }}, we got "{{ ticket.subject }}" (#{{ ticket.number }}).` Rendered in
Jinja's `SandboxedEnvironment` as plain text, and restricted further when saved (`check`), so
a template can neither reach Python internals nor run for long or grow without bound:

- variables are `ticket` and `requester` (their attributes and items); an unknown variable or
  attribute renders empty; there are no globals (no `range`, no functions) and no calls;
- filters are the harmless ones listed in `FILTERS`; no `*`/`**` (no multiplying strings);
- `{% if %}` and non-nested `{% for %}` over the data (tags, say) are allowed; nothing else;
- the output stops at `MAX_OUTPUT` characters.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache
from typing import Any

from jinja2 import ChainableUndefined, TemplateError, nodes
from jinja2.sandbox import SandboxedEnvironment

MAX_OUTPUT = 20_000
FILTERS = frozenset({
    "upper", "lower", "title", "capitalize", "trim", "default", "d", "length", "count",
    "first", "last", "string", "int", "float", "round", "abs", "wordcount", "truncate", "join",
    "sort", "unique", "list", "striptags",
})
TESTS = frozenset({"defined", "undefined", "none", "number", "string", "sequence", "mapping",
                   "eq", "ne", "lt", "le", "gt", "ge", "in", "true", "false", "odd", "even"})
ALLOWED = (nodes.Template, nodes.Output, nodes.TemplateData, nodes.Const, nodes.Name,
           nodes.Getattr, nodes.Getitem, nodes.Filter, nodes.Test, nodes.If, nodes.CondExpr,
           nodes.Compare, nodes.Operand, nodes.And, nodes.Or, nodes.Not, nodes.Concat,
           nodes.For, nodes.List, nodes.Tuple, nodes.Neg, nodes.Pos, nodes.Add, nodes.Sub,
           nodes.Keyword)
MAX_CONST = 200  # a constant argument longer than this could amplify (`join` with a long separator)


class TemplateFailure(ValueError):
    """A template that cannot be used (refused when saved, or failing while rendering)."""


class _Environment(SandboxedEnvironment):
    intercepted_binops = frozenset({"*", "**", "/", "//", "%"})  # never constant-folded

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        raise TemplateFailure(f"the operator {operator} is not allowed")


@lru_cache(maxsize=1)
def environment() -> _Environment:
    env = _Environment(autoescape=False, undefined=ChainableUndefined, keep_trailing_newline=True)
    env.globals.clear()
    env.filters = {k: v for k, v in env.filters.items() if k in FILTERS}
    env.tests = {k: v for k, v in env.tests.items() if k in TESTS}
    return env


def check(source: str) -> str | None:
    """Why a template cannot be saved (its syntax, or a construct outside the safe subset)."""
    try:
        tree = environment().parse(source)
    except TemplateError as exc:
        line = getattr(exc, "lineno", None)
        return f"template syntax error{f' on line {line}' if line else ''}: {exc.message}"
    return _refused(tree, in_loop=False)


def _refused(node: nodes.Node, *, in_loop: bool) -> str | None:
    if not isinstance(node, ALLOWED):
        return f"`{type(node).__name__}` is not allowed in a reply template"
    if isinstance(node, nodes.Filter) and node.name not in FILTERS:
        return f"the filter `{node.name}` is not allowed"
    if isinstance(node, nodes.Test) and node.name not in TESTS:
        return f"the test `{node.name}` is not allowed"
    if isinstance(node, nodes.Const) and isinstance(node.value, str) and len(node.value) > MAX_CONST:
        return f"string constants are limited to {MAX_CONST} characters"
    if isinstance(node, nodes.For):
        if in_loop:
            return "loops cannot be nested"
        if node.recursive:
            return "recursive loops are not allowed"
        in_loop = True
    for child in node.iter_child_nodes():
        problem = _refused(child, in_loop=in_loop)
        if problem is not None:
            return problem
    return None


@lru_cache(maxsize=256)
def _compiled(source: str) -> Any:
    problem = check(source)
    if problem is not None:
        raise TemplateFailure(problem)
    return environment().from_string(source)


def render(template: str, *, ticket: Mapping[str, Any], requester: Mapping[str, Any]) -> str:
    """The text of a reply, at most `MAX_OUTPUT` characters. Raises `TemplateFailure` for a
    template `check` refuses or one failing while it renders (say, `{{ ticket.subject + 1 }}`)."""
    compiled = _compiled(template)
    out: list[str] = []
    size = 0
    try:
        for chunk in compiled.generate(ticket=dict(ticket), requester=dict(requester)):
            out.append(chunk)
            size += len(chunk)
            if size >= MAX_OUTPUT:
                break
    except TemplateFailure:
        raise
    except Exception as exc:  # anything the sandbox or a filter raises on this data
        raise TemplateFailure(f"the template failed: {exc}") from exc
    return "".join(out)[:MAX_OUTPUT]
