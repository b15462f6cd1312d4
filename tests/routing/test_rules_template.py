"""Reply templates, pure: what renders, what is refused when saved, and the bounds."""

from __future__ import annotations

import pytest

from app.routing import template
from app.routing.template import MAX_OUTPUT, TemplateFailure, check, render

TICKET = {"subject": "Printer on fire", "number": 12, "tags": ["vip", "hardware"],
          "priority": "high", "description": "x" * 5000}
REQUESTER = {"name": "Ana", "email": "ana@acme.example"}


@pytest.mark.parametrize(("source", "expected"), [
    ("Hi {{ requester.name }}, we got #{{ ticket.number }}: {{ ticket.subject }}.",
     "Hi Ana, we got #12: Printer on fire."),
    ("{{ ticket.subject|upper }}", "PRINTER ON FIRE"),
    ("{{ ticket.tags|join(', ') }}", "vip, hardware"),
    ("{% if 'vip' in ticket.tags %}Priority line{% else %}Queue{% endif %}", "Priority line"),
    ("{% for t in ticket.tags %}[{{ t }}]{% endfor %}", "[vip][hardware]"),
    ("{{ requester.phone|default('no phone') }}", "no phone"),
    ("<b>{{ requester.name }}</b> & co", "<b>Ana</b> & co"),  # plain text: nothing escaped
])
def test_template_renders_ticket_and_requester(source: str, expected: str) -> None:
    assert check(source) is None
    assert render(source, ticket=TICKET, requester=REQUESTER) == expected


def test_undefined_variables_and_attributes_render_empty() -> None:
    source = "[{{ nobody }}][{{ ticket.missing }}][{{ requester.org.name }}]"
    assert check(source) is None
    assert render(source, ticket=TICKET, requester=REQUESTER) == "[][][]"


@pytest.mark.parametrize(("source", "reason"), [
    ("{{ ticket.subject", "syntax error"),
    ("{{ ''.__class__.__mro__[1].__subclasses__() }}", "Call"),
    ("{{ range(10) }}", "Call"),
    ("{{ ticket.subject * 100000000 }}", "Mul"),
    ("{{ 9 ** 9 ** 9 }}", "Pow"),
    ("{{ ticket.subject|center(100000000) }}", "center"),
    ("{% for a in ticket.tags %}{% for b in ticket.tags %}{% endfor %}{% endfor %}", "nested"),
    ("{% set x = 1 %}", "Assign"),
    ("{% macro m() %}{% endmacro %}", "Macro"),
    ("{% include 'other' %}", "Include"),
    ("{{ '" + "x" * 300 + "' }}", "constants"),
])
def test_unsafe_or_broken_template_is_refused_when_saved(source: str, reason: str) -> None:
    problem = check(source)
    assert problem is not None and reason in problem


def test_sandbox_hides_internals_behind_attribute_access() -> None:
    source = "[{{ ticket.__class__ }}][{{ requester.__init__.__globals__ }}]"
    assert check(source) is None
    assert render(source, ticket=TICKET, requester=REQUESTER) == "[][]"


def test_output_is_capped() -> None:
    source = "{% for c in ticket.description %}{{ ticket.description }}{% endfor %}"
    assert check(source) is None
    assert len(render(source, ticket=TICKET, requester=REQUESTER)) == MAX_OUTPUT


def test_render_refuses_a_template_that_check_refuses() -> None:
    with pytest.raises(TemplateFailure):
        render("{{ range(3) }}", ticket=TICKET, requester=REQUESTER)


def test_runtime_error_becomes_template_failure() -> None:
    with pytest.raises(TemplateFailure):
        render("{{ ticket.subject + 1 }}", ticket=TICKET, requester=REQUESTER)


def test_only_harmless_filters_are_available() -> None:
    assert set(template.environment().filters) <= template.FILTERS
    assert template.environment().globals == {}
