"""One visibility rule per subject kind (`core/scope.desk_scope`), without a database."""

from __future__ import annotations

import json

import pytest

from app.core.errors import Forbidden
from app.core.principal import requires
from app.core.scope import (
    AGENT_SCOPES,
    CustomerSubject,
    Scope,
    StaffSubject,
    Subject,
    SubjectKind,
    SystemSubject,
    TokenSubject,
    desk_scope,
)

ONE_OF_EACH: dict[SubjectKind, Subject] = {
    SubjectKind.user: StaffSubject(1, "Ana", admin=False, member_of=frozenset({1})),
    SubjectKind.api_token: TokenSubject(2, "Zapier", frozenset({"tickets:read"}), None),
    SubjectKind.oauth_client: TokenSubject(3, "Partner app", frozenset({"tickets:read"}),
                                           frozenset({1}), kind=SubjectKind.oauth_client),
    SubjectKind.customer: CustomerSubject(4, "Carla Customer"),
    SubjectKind.system: SystemSubject("Switchboard"),
}


def test_every_subject_kind_has_a_rule():
    assert set(ONE_OF_EACH) == set(SubjectKind)
    for kind, subject in ONE_OF_EACH.items():
        assert desk_scope(subject).principal.kind is kind


def test_subject_kinds_serialise_as_the_strings_already_stored():
    # Event actors, comment authors and owner columns hold these; `GET /v1/me` answers them.
    assert [k.value for k in SubjectKind] == [
        "user", "api_token", "oauth_client", "customer", "system"]
    principal = desk_scope(ONE_OF_EACH[SubjectKind.api_token]).principal
    assert json.dumps({"kind": principal.kind}) == '{"kind": "api_token"}'
    assert principal.key == "api_token:2"


def test_staff_admin_sees_every_desk_with_the_admin_scope():
    scope = desk_scope(StaffSubject(1, "Root", admin=True, member_of=frozenset({7})))
    assert scope.all_desks and scope.managed_desk_ids is None
    assert scope.scopes == {Scope.admin.value}


def test_staff_agent_sees_its_desks_and_manages_those_it_manages():
    scope = desk_scope(StaffSubject(1, "Ana", admin=False, member_of=frozenset({1, 2}),
                                    manages=frozenset({2})))
    assert (scope.desk_ids, scope.managed_desk_ids, scope.scopes) == (
        {1, 2}, {2}, AGENT_SCOPES)
    assert not scope.principal.sandbox


def test_api_token_sees_the_desks_it_was_issued_for():
    scope = desk_scope(TokenSubject(2, "t", frozenset({"desks:read"}), frozenset({3, 5})))
    assert scope.desk_ids == {3, 5}
    assert scope.scopes == {"desks:read"}
    assert scope.managed_desk_ids is None  # a token manages every desk it sees


@pytest.mark.parametrize("kind", [SubjectKind.api_token, SubjectKind.oauth_client])
def test_sandbox_token_is_confined_to_desks_that_are_sandboxes(kind):
    # The loader's sandbox desks are intersected again: a wider set cannot widen the token.
    scope = desk_scope(TokenSubject(2, "t", frozenset({"tickets:read"}), frozenset({1, 2}),
                                    sandbox=True, sandbox_desk_ids=frozenset({2, 9}), kind=kind))
    assert scope.desk_ids == {2}
    assert scope.principal.sandbox


def test_sandbox_token_for_every_desk_never_sees_all_desks():
    scope = desk_scope(TokenSubject(2, "t", frozenset({"admin"}), None, sandbox=True))
    assert not scope.all_desks and scope.desk_ids == frozenset()
    scope = desk_scope(TokenSubject(2, "t", frozenset({"admin"}), None, sandbox=True,
                                    sandbox_desk_ids=frozenset({4})))
    assert scope.desk_ids == {4}


def test_customer_holds_no_desks_and_no_staff_scopes():
    scope = desk_scope(CustomerSubject(4, "Carla Customer"))
    assert scope.desk_ids == frozenset() and scope.managed_desk_ids == frozenset()
    assert scope.scopes == frozenset()
    assert not scope.sees(1)


@pytest.mark.parametrize("kind", sorted(set(SubjectKind) - {SubjectKind.customer}))
def test_staff_api_serves_every_kind_but_customers(kind):
    desk_scope(ONE_OF_EACH[kind]).check_staff_api()


def test_staff_api_refuses_a_customer_with_403():
    scope = desk_scope(CustomerSubject(4, "Carla Customer"))
    with pytest.raises(Forbidden) as caught:
        scope.check_staff_api()
    assert caught.value.status == 403
    assert caught.value.detail == "Staff endpoints do not accept customer credentials."


async def test_staff_scope_dependency_refuses_a_customer_with_403():
    dependency = requires(Scope.tickets_read).dependency
    customer = desk_scope(CustomerSubject(4, "Carla Customer"))
    with pytest.raises(Forbidden) as caught:
        await dependency(customer)
    assert caught.value.detail == "Staff endpoints do not accept customer credentials."
    staff = desk_scope(ONE_OF_EACH[SubjectKind.user])
    assert await dependency(staff) is staff


def test_system_sees_every_desk_as_admin():
    scope = desk_scope(SystemSubject("switchboard import-customers"))
    assert scope.all_desks and scope.allows(Scope.tickets_write)
    assert scope.principal.key == "system:0"
