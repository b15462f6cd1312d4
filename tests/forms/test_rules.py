"""The pure parts of forms, without a database: plain text, definition rules, answers → ticket
members, error relocation, survey tokens, typed-field defaults and linear-time patterns."""

from __future__ import annotations

import time

import pytest
import re2
from pydantic import ValidationError

from app.core.errors import NotFound
from app.core.fields import FieldSpec, clean_value, matcher
from app.core.text import plain_text
from app.forms.mapping import check_definition, relocate, ticket_values
from app.forms.schemas import FormField, FormKind
from app.forms.surveys import Gone, issue_token, verify_token

SECRET = "s" * 40


def field(key: str, type_: str = "text", **kw) -> FormField:
    return FormField(key=key, label=key.title(), type=type_, **kw)


@pytest.mark.parametrize(("raw", "plain"), [
    ("a < b & c > d", "a < b & c > d"),
    ("<script>alert(1)</script>hi", "hi"),
    ("&lt;script&gt;alert(1)&lt;/script&gt;", ""),
    ("<<script>script>alert(1)<</script>/script>", ""),
    ("<b>bold</b>\nnext line", "bold\nnext line"),
    ("<style>p{}</style><p onclick=x>para</p>", "para"),
    ("Tom &amp; Jerry", "Tom & Jerry"),
])
def test_plain_text_removes_markup_and_keeps_text(raw, plain):
    assert plain_text(raw) == plain
    assert "<script" not in plain_text(raw).lower()


def test_plain_text_is_a_fixed_point():
    for raw in ("&amp;lt;script&amp;gt;x", "<a href='javascript:x'>y</a>", "1 <2> 3"):
        once = plain_text(raw)
        assert plain_text(once) == once


def test_definition_rules_name_each_bad_field():
    fields = [
        field("email", "email", required=True, maps_to="requester.email"),
        field("website"),
        field("code", pattern=r"(\w)\1"),
        field("count", "integer", maps_to="subject"),
        field("topic", maps_to="subject"),
        field("again", maps_to="subject"),
    ]
    errors = check_definition(FormKind.ticket, fields, [], published=True, honeypot="website")
    assert [(e["loc"], e["type"]) for e in errors] == [
        (["body", "fields", 1, "key"], "value_error"),
        (["body", "fields", 2, "pattern"], "value_error"),
        (["body", "fields", 3, "maps_to"], "mapping"),
        (["body", "fields", 4, "maps_to"], "value_error"),
        (["body", "fields", 5, "maps_to"], "value_error"),
    ]


def test_tags_may_be_filled_by_several_fields():
    options = [{"value": "vip", "label": "VIP"}]
    fields = [field("a", "select", options=options, maps_to="tags"),
              field("b", "multiselect", options=options, maps_to="tags")]
    assert check_definition(FormKind.ticket, fields, [], published=False, honeypot="hp") == []


def test_custom_field_mapping_accepts_compatible_text_types():
    custom = [FieldSpec(key="notes", label="Notes", type="textarea")]
    ok = [field("n", "text", maps_to="custom_fields.notes")]
    bad = [field("n", "checkbox", maps_to="notes")]
    assert check_definition(FormKind.ticket, ok, custom, published=False, honeypot="hp") == []
    assert check_definition(FormKind.ticket, bad, custom, published=False, honeypot="hp")


def test_answers_fill_ticket_members_and_the_rest_is_listed():
    fields = [field("email", "email", maps_to="requester.email"),
              field("who", maps_to="requester.name"),
              field("title", maps_to="subject"),
              field("body", "textarea", maps_to="description"),
              field("plan", "select", options=[{"value": "p", "label": "Pro"}]),
              field("ok", "checkbox"),
              field("seats", "integer", maps_to="custom_fields.seats"),
              field("skipped")]
    values, locs = ticket_values("Form", fields, {
        "email": "a@b.example", "who": "Ann", "title": "Line\nbreak  here", "body": "Text",
        "plan": "p", "ok": False, "seats": 3})
    assert values["requester"] == {"email": "a@b.example", "name": "Ann"}
    assert values["subject"] == "Line break here"
    assert values["description"] == "Text\n\nPlan: Pro\nOk: No"
    assert values["custom_fields"] == {"seats": 3}
    assert locs[("body", "requester", "email")] == "email"
    assert locs[("body", "custom_fields", "seats")] == "seats"


def test_ticket_errors_are_relocated_to_the_form_field():
    locs = {("body", "requester", "email"): "contact", ("body", "custom_fields", "n"): "count"}
    errors = [{"loc": ["body", "requester", "email"], "msg": "bad", "type": "t"},
              {"loc": ["body", "custom_fields", "n"], "msg": "bad", "type": "t"},
              {"loc": ["body", "subject"], "msg": "bad", "type": "t"}]
    assert [e["loc"] for e in relocate(errors, locs)] == [
        ["body", "contact"], ["body", "count"], ["body", "subject"]]


def test_field_default_must_be_a_value_of_the_field():
    assert FieldSpec(key="d", label="D", type="date", default="2024-01-02").default == "2024-01-02"
    assert FieldSpec(key="m", label="M", type="multiselect", default=["a", "a"],
                     options=[{"value": "a", "label": "A"}]).default == ["a"]
    for bad in ({"type": "integer", "default": 1.5}, {"type": "email", "default": "nope"},
                {"type": "integer", "default": 20, "max": 10}):
        with pytest.raises(ValidationError, match="default"):
            FieldSpec(key="x", label="X", **bad)


def test_patterns_run_in_linear_time_where_re2_can_express_them():
    assert isinstance(matcher("(a+)+$"), type(re2.compile("a")))
    spec = FieldSpec(key="x", label="X", type="text", pattern="(a+)+$")
    with pytest.raises(ValueError, match="must match"):
        clean_value(spec, "a" * 5000 + "!")  # catastrophic backtracking under `re`
    assert clean_value(FieldSpec(key="y", label="Y", type="text", pattern=r"(\w)\1"), "aa") == "aa"


def test_survey_token_round_trips_and_expires():
    token, expires_at = issue_token(7, 3, SECRET, 60, now=1_000_000)
    claims = verify_token(token, SECRET, now=1_000_030)
    assert (claims.ticket_id, claims.desk_id, claims.expires_at) == (7, 3, expires_at)
    with pytest.raises(Gone):
        verify_token(token, SECRET, now=1_000_061)
    with pytest.raises(NotFound):
        verify_token(token, "t" * 40, now=1_000_030)
    with pytest.raises(NotFound):
        verify_token(token + "x", SECRET, now=time.time())
