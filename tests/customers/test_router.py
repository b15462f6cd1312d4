"""`/v1/customers`: creation and joining organizations by email domain, lists, PATCH, transfers,
events, desk isolation and desk reset."""

from __future__ import annotations

import pytest

from app.models import Customer, Organization
from tests.customers.helpers import (
    agent_headers,
    count,
    create_customer,
    create_org,
    customers_in,
    define_field,
    domains_in,
    error_locs,
    events,
    ok,
    organizations_in,
    set_auto_create,
    token_headers,
)

# --- create -----------------------------------------------------------------------------------


async def test_created_customer_answers_201_with_location_etag_and_body(client, factory,
                                                                        admin_headers):
    desk = await factory.desk()
    response = await client.post("/v1/customers", headers=admin_headers, json={
        "desk_id": desk.id, "email": "Ana.Lima@ACME.example", "name": "Ana Lima",
        "phone": " +49 30 1234567 "})
    body = ok(response, 201)
    assert response.headers["Location"] == f"/v1/customers/{body['id']}"
    assert response.headers["ETag"] == '"1"'
    assert {k: body[k] for k in ("desk_id", "email", "name", "phone", "organization_id",
                                 "custom_fields", "version")} == {
        "desk_id": desk.id, "email": "ana.lima@acme.example", "name": "Ana Lima",
        "phone": "+49 30 1234567", "organization_id": None, "custom_fields": {}, "version": 1}
    fetched = await client.get(f"/v1/customers/{body['id']}", headers=admin_headers)
    assert ok(fetched) == body
    assert fetched.headers["ETag"] == '"1"'


@pytest.mark.parametrize(("payload", "loc"), [
    ({"email": "not-an-email"}, ["body", "email"]),
    ({"email": "ana@localhost"}, ["body", "email"]),
    ({"email": "ana@acme.example", "phone": "call me"}, ["body", "phone"]),
    ({"email": "ana@acme.example", "name": "x" * 201}, ["body", "name"]),
    ({"email": "ana@acme.example", "colour": "red"}, ["body", "colour"]),
    ({"email": "ana@acme.example", "organization_id": 0}, ["body", "organization_id"]),
    ({}, ["body", "email"]),
])
async def test_invalid_customer_is_422_at_the_field(client, factory, admin_headers, problem,
                                                    payload, loc):
    desk = await factory.desk()
    body = problem(await client.post("/v1/customers", headers=admin_headers,
                                     json={"desk_id": desk.id, **payload}), 422)
    assert error_locs(body) == [loc]
    assert await customers_in(factory.session, desk.id) == []


async def test_an_email_the_desk_holds_in_any_case_is_409_with_existing_id(
        client, factory, admin_headers, problem):
    desk = await factory.desk()
    first = await create_customer(client, admin_headers, desk.id, "ana@acme.example")
    body = problem(await client.post("/v1/customers", headers=admin_headers,
                                     json={"desk_id": desk.id, "email": "ANA@Acme.Example"}),
                   409)
    assert body["existing_id"] == first["id"]
    assert len(await customers_in(factory.session, desk.id)) == 1


async def test_the_same_email_may_be_a_customer_of_two_desks(client, factory, admin_headers):
    desk, other = await factory.desk(), await factory.desk()
    first = await create_customer(client, admin_headers, desk.id, "ana@acme.example")
    second = await create_customer(client, admin_headers, other.id, "ana@acme.example")
    assert first["id"] != second["id"]


async def test_an_internationalised_email_is_one_customer_in_either_spelling(
        client, factory, admin_headers, problem):
    desk = await factory.desk()
    first = await create_customer(client, admin_headers, desk.id, "ana@Bücher.example")
    body = problem(await client.post("/v1/customers", headers=admin_headers, json={
        "desk_id": desk.id, "email": "ana@xn--bcher-kva.example"}), 409)
    assert body["existing_id"] == first["id"]


async def test_customer_joins_the_organization_owning_its_email_domain(client, factory,
                                                                       admin_headers):
    desk, other = await factory.desk(), await factory.desk()
    org = await create_org(client, admin_headers, desk.id, domains=["acme.example",
                                                                    "bücher.example"])
    await create_org(client, admin_headers, other.id, domains=["acme.example"])
    assert (await create_customer(client, admin_headers, desk.id, "Ana@ACME.example")
            )["organization_id"] == org["id"]
    assert (await create_customer(client, admin_headers, desk.id, "bob@Bücher.example")
            )["organization_id"] == org["id"]
    assert (await create_customer(client, admin_headers, desk.id, "eve@sub.acme.example")
            )["organization_id"] is None


async def test_an_explicit_organization_wins_over_the_domain(client, factory, admin_headers):
    desk = await factory.desk()
    await create_org(client, admin_headers, desk.id, "By domain", domains=["acme.example"])
    chosen = await create_org(client, admin_headers, desk.id, "Chosen")
    body = await create_customer(client, admin_headers, desk.id, "ana@acme.example",
                                 organization_id=chosen["id"])
    assert body["organization_id"] == chosen["id"]


async def test_an_organization_of_another_desk_is_422(client, factory, admin_headers, problem):
    desk, other = await factory.desk(), await factory.desk()
    foreign = await create_org(client, admin_headers, other.id)
    for org_id in (foreign["id"], 2147483000):
        body = problem(await client.post("/v1/customers", headers=admin_headers, json={
            "desk_id": desk.id, "email": "ana@acme.example", "organization_id": org_id}), 422)
        assert error_locs(body) == [["body", "organization_id"]]
    assert await customers_in(factory.session, desk.id) == []


async def test_auto_create_makes_one_organization_per_new_company_domain(
        client, factory, admin_headers, session):
    desk = await factory.desk()
    await set_auto_create(client, admin_headers, desk.id)
    ana = await create_customer(client, admin_headers, desk.id, "ana@Acme.example")
    bob = await create_customer(client, admin_headers, desk.id, "bob@acme.example")
    assert ana["organization_id"] is not None
    assert bob["organization_id"] == ana["organization_id"]
    org = ok(await client.get(f"/v1/organizations/{ana['organization_id']}",
                              headers=admin_headers))
    assert (org["desk_id"], org["name"], org["domains"]) == (desk.id, "acme.example",
                                                            ["acme.example"])
    [created] = await events(session, "organization.created", subject_id=org["id"])
    assert created.desk_id == desk.id


@pytest.mark.parametrize("email", ["ana@gmail.com", "ana@outlook.com", "ana@mailinator.com",
                                   "ana@hotmail.com", "ana@eu.mail.gmail.com"])
async def test_auto_create_never_makes_organizations_for_free_or_disposable_mail(
        client, factory, admin_headers, session, email):
    desk = await factory.desk()
    await set_auto_create(client, admin_headers, desk.id)
    body = await create_customer(client, admin_headers, desk.id, email)
    assert body["organization_id"] is None
    assert await organizations_in(session, desk.id) == []


async def test_without_auto_create_no_organization_is_made(client, factory, admin_headers,
                                                           session):
    desk = await factory.desk()
    body = await create_customer(client, admin_headers, desk.id, "ana@acme.example")
    assert body["organization_id"] is None
    await set_auto_create(client, admin_headers, desk.id, on=True)
    await set_auto_create(client, admin_headers, desk.id, on=False)
    body = await create_customer(client, admin_headers, desk.id, "bob@globex.example")
    assert body["organization_id"] is None
    assert await organizations_in(session, desk.id) == []


async def test_auto_create_prefers_the_organization_already_owning_the_domain(
        client, factory, admin_headers, session):
    desk = await factory.desk()
    org = await create_org(client, admin_headers, desk.id, domains=["acme.example"])
    await set_auto_create(client, admin_headers, desk.id)
    body = await create_customer(client, admin_headers, desk.id, "ana@acme.example")
    assert body["organization_id"] == org["id"]
    assert len(await organizations_in(session, desk.id)) == 1


async def test_customer_custom_fields_are_validated_against_customer_definitions(
        client, factory, admin_headers, problem):
    desk = await factory.desk()
    await define_field(client, admin_headers, desk.id, "customer", key="plan", type="select",
                       required=True, options=[{"value": "free", "label": "Free"},
                                               {"value": "pro", "label": "Pro"}])
    await define_field(client, admin_headers, desk.id, "organization", key="tier", type="text")
    body = await create_customer(client, admin_headers, desk.id, "ana@acme.example",
                                 custom_fields={"plan": "pro"})
    assert body["custom_fields"] == {"plan": "pro"}
    bad = problem(await client.post("/v1/customers", headers=admin_headers, json={
        "desk_id": desk.id, "email": "bob@acme.example",
        "custom_fields": {"plan": "gold", "tier": "x"}}), 422)
    assert sorted(error_locs(bad)) == [["body", "custom_fields", "plan"],
                                       ["body", "custom_fields", "tier"]]
    missing = problem(await client.post("/v1/customers", headers=admin_headers, json={
        "desk_id": desk.id, "email": "bob@acme.example"}), 422)
    assert error_locs(missing) == [["body", "custom_fields", "plan"]]


async def test_customer_in_an_archived_desk_is_409(client, factory, admin_headers, problem):
    desk = await factory.desk()
    ok(await client.post(f"/v1/desks/{desk.id}/archive", headers=admin_headers))
    problem(await client.post("/v1/customers", headers=admin_headers,
                              json={"desk_id": desk.id, "email": "ana@acme.example"}), 409)


@pytest.mark.parametrize("desk_id", [0, 2**31])
async def test_an_impossible_desk_id_is_422(client, admin_headers, problem, desk_id):
    body = problem(await client.post("/v1/customers", headers=admin_headers,
                                     json={"desk_id": desk_id, "email": "ana@acme.example"}),
                   422)
    assert error_locs(body) == [["body", "desk_id"]]


async def test_a_body_over_the_limit_is_413(client, factory, admin_headers, problem):
    desk = await factory.desk()
    problem(await client.post("/v1/customers", headers=admin_headers, json={
        "desk_id": desk.id, "email": "ana@acme.example", "name": "x" * (1024 * 1024 + 1)}), 413)


# --- events -----------------------------------------------------------------------------------

async def test_creation_writes_customer_created_with_the_resource(client, factory,
                                                                  admin_headers, session):
    desk = await factory.desk()
    body = await create_customer(client, admin_headers, desk.id, "ana@acme.example")
    [event] = await events(session, "customer.created", subject_id=body["id"])
    assert (event.desk_id, event.subject_type, event.changes) == (desk.id, "customer", None)
    assert event.data == body


async def test_a_failed_create_leaves_no_customer_and_no_event(client, factory, admin_headers,
                                                               session, problem):
    desk = await factory.desk()
    await set_auto_create(client, admin_headers, desk.id)
    await define_field(client, admin_headers, desk.id, "customer", key="plan", type="integer")
    problem(await client.post("/v1/customers", headers=admin_headers, json={
        "desk_id": desk.id, "email": "ana@acme.example", "custom_fields": {"plan": "x"}}), 422)
    assert await events(session, desk_id=desk.id) == []
    assert await customers_in(session, desk.id) == []
    assert await organizations_in(session, desk.id) == []


# --- list -------------------------------------------------------------------------------------

async def _ids(client, headers, **params) -> list[int]:
    return [c["id"] for c in ok(await client.get("/v1/customers", headers=headers,
                                                 params=params))["items"]]


async def test_list_filters_by_desk_email_organization_and_text(client, factory,
                                                                admin_headers):
    desk, other = await factory.desk(), await factory.desk()
    org = await create_org(client, admin_headers, desk.id, domains=["acme.example"])
    ana = await create_customer(client, admin_headers, desk.id, "ana@acme.example",
                                name="Ana Lima")
    bob = await create_customer(client, admin_headers, desk.id, "bob@globex.example",
                                name="Bob 100%")
    theirs = await create_customer(client, admin_headers, other.id, "ana@acme.example")
    assert await _ids(client, admin_headers, desk_id=desk.id) == [ana["id"], bob["id"]]
    assert await _ids(client, admin_headers, desk_id=other.id) == [theirs["id"]]
    assert await _ids(client, admin_headers, email="ANA@acme.example") == [ana["id"],
                                                                           theirs["id"]]
    assert await _ids(client, admin_headers, organization_id=org["id"]) == [ana["id"]]
    assert await _ids(client, admin_headers, desk_id=desk.id, q="LIMA") == [ana["id"]]
    assert await _ids(client, admin_headers, desk_id=desk.id, q="globex") == [bob["id"]]
    assert await _ids(client, admin_headers, desk_id=desk.id, q="100%") == [bob["id"]]
    assert await _ids(client, admin_headers, desk_id=desk.id, q="%") == [bob["id"]]


async def test_list_by_email_finds_every_spelling_of_an_address(client, factory, admin_headers):
    desk = await factory.desk()
    ana = await create_customer(client, admin_headers, desk.id, "ana@Bücher.example")
    for spelling in ("ana@bücher.example", "ANA@xn--bcher-kva.example", " ana@BÜCHER.example "):
        assert await _ids(client, admin_headers, email=spelling) == [ana["id"]], spelling
    assert await _ids(client, admin_headers, email="not an address") == []


async def test_list_pages_through_every_customer_once(client, factory, admin_headers):
    desk = await factory.desk()
    created = [(await create_customer(client, admin_headers, desk.id, f"c{i}@acme.example"))["id"]
               for i in range(5)]
    seen, cursor = [], None
    while True:
        page = ok(await client.get("/v1/customers", headers=admin_headers, params={
            "desk_id": desk.id, "limit": 2, **({"cursor": cursor} if cursor else {})}))
        seen += [c["id"] for c in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == created


async def test_list_with_a_desk_filter_outside_the_scope_is_404(client, factory, problem):
    desk, other = await factory.desk(), await factory.desk()
    headers = await token_headers(factory, ["customers:read"], desk_ids=[desk.id])
    problem(await client.get("/v1/customers", headers=headers, params={"desk_id": other.id}),
            404)


@pytest.mark.parametrize("params", [{"desk_id": 0}, {"desk_id": 2**31},
                                    {"organization_id": 2**40}, {"limit": 500}])
async def test_list_with_an_impossible_filter_is_422(client, admin_headers, problem, params):
    body = problem(await client.get("/v1/customers", headers=admin_headers, params=params), 422)
    assert error_locs(body) == [["query", next(iter(params))]]


# --- get / patch ------------------------------------------------------------------------------

async def test_missing_customer_is_404_and_an_impossible_id_is_422(client, admin_headers,
                                                                   problem):
    problem(await client.get("/v1/customers/2147483000", headers=admin_headers), 404)
    body = problem(await client.get("/v1/customers/2147483648", headers=admin_headers), 422)
    assert error_locs(body) == [["path", "customer_id"]]


async def test_patch_changes_what_is_sent_and_bumps_the_etag(client, factory, admin_headers):
    desk = await factory.desk()
    customer = await create_customer(client, admin_headers, desk.id, "ana@acme.example",
                                     name="Ana", phone="+1 555 0100")
    response = await client.patch(f"/v1/customers/{customer['id']}", headers=admin_headers,
                                  json={"name": "Ana Lima"})
    body = ok(response)
    assert (body["name"], body["phone"], body["version"]) == ("Ana Lima", "+1 555 0100", 2)
    assert response.headers["ETag"] == '"2"'
    body = ok(await client.patch(f"/v1/customers/{customer['id']}", headers=admin_headers,
                                 json={"phone": None}))
    assert body["phone"] is None


async def test_patch_with_a_stale_if_match_is_412(client, factory, admin_headers, problem):
    desk = await factory.desk()
    customer = await create_customer(client, admin_headers, desk.id, "ana@acme.example")
    url = f"/v1/customers/{customer['id']}"
    ok(await client.patch(url, headers={**admin_headers, "If-Match": '"1"'}, json={"name": "A"}))
    problem(await client.patch(url, headers={**admin_headers, "If-Match": '"1"'},
                               json={"name": "B"}), 412)
    assert ok(await client.get(url, headers=admin_headers))["name"] == "A"


async def test_patch_to_an_email_the_desk_holds_is_409_with_existing_id(
        client, factory, admin_headers, problem):
    desk = await factory.desk()
    ana = await create_customer(client, admin_headers, desk.id, "ana@acme.example")
    bob = await create_customer(client, admin_headers, desk.id, "bob@acme.example")
    body = problem(await client.patch(f"/v1/customers/{bob['id']}", headers=admin_headers,
                                      json={"email": "ANA@acme.example"}), 409)
    assert body["existing_id"] == ana["id"]
    same = ok(await client.patch(f"/v1/customers/{ana['id']}", headers=admin_headers,
                                 json={"email": "Ana@Acme.example"}))
    assert same["email"] == "ana@acme.example"


async def test_patch_organization_must_be_in_the_desk_and_null_removes_it(
        client, factory, admin_headers, problem):
    desk, other = await factory.desk(), await factory.desk()
    org = await create_org(client, admin_headers, desk.id, domains=["acme.example"])
    foreign = await create_org(client, admin_headers, other.id)
    customer = await create_customer(client, admin_headers, desk.id, "ana@acme.example")
    url = f"/v1/customers/{customer['id']}"
    body = problem(await client.patch(url, headers=admin_headers,
                                      json={"organization_id": foreign["id"]}), 422)
    assert error_locs(body) == [["body", "organization_id"]]
    assert ok(await client.get(url, headers=admin_headers))["organization_id"] == org["id"]
    assert ok(await client.patch(url, headers=admin_headers,
                                 json={"organization_id": None}))["organization_id"] is None


async def test_patch_custom_fields_merges_and_null_clears(client, factory, admin_headers,
                                                          problem):
    desk = await factory.desk()
    await define_field(client, admin_headers, desk.id, "customer", key="plan", type="text")
    await define_field(client, admin_headers, desk.id, "customer", key="seats", type="integer")
    customer = await create_customer(client, admin_headers, desk.id, "ana@acme.example",
                                     custom_fields={"plan": "pro", "seats": 3})
    url = f"/v1/customers/{customer['id']}"
    body = ok(await client.patch(url, headers=admin_headers,
                                 json={"custom_fields": {"seats": None}}))
    assert body["custom_fields"] == {"plan": "pro"}
    bad = problem(await client.patch(url, headers=admin_headers,
                                     json={"custom_fields": {"seats": "x"}}), 422)
    assert error_locs(bad) == [["body", "custom_fields", "seats"]]


async def test_patch_writes_customer_updated_with_the_changes(client, factory, admin_headers,
                                                              session):
    desk = await factory.desk()
    customer = await create_customer(client, admin_headers, desk.id, "ana@acme.example")
    ok(await client.patch(f"/v1/customers/{customer['id']}", headers=admin_headers,
                          json={"name": "Ana"}))
    [event] = await events(session, "customer.updated", subject_id=customer["id"])
    assert event.changes == {"name": ["", "Ana"]}


# --- transfer ---------------------------------------------------------------------------------

async def _transfer(client, headers, customer_id, desk_id, **body):
    return await client.post(f"/v1/customers/{customer_id}/transfer", headers=headers,
                             json={"desk_id": desk_id, **body})


async def test_transfer_moves_the_customer_and_resolves_its_organization_in_the_target(
        client, factory, admin_headers, session):
    source, target = await factory.desk(), await factory.desk()
    await create_org(client, admin_headers, source.id, domains=["acme.example"])
    target_org = await create_org(client, admin_headers, target.id, domains=["acme.example"])
    customer = await create_customer(client, admin_headers, source.id, "ana@acme.example")
    body = ok(await _transfer(client, admin_headers, customer["id"], target.id))
    assert (body["id"], body["desk_id"], body["organization_id"]) == (
        customer["id"], target.id, target_org["id"])
    assert await customers_in(session, source.id) == []
    [row] = await customers_in(session, target.id)
    assert (row.id, row.organization_id) == (customer["id"], target_org["id"])


async def test_transfer_leaves_no_organization_of_the_old_desk(client, factory, admin_headers,
                                                               session):
    source, target = await factory.desk(), await factory.desk()
    org = await create_org(client, admin_headers, source.id, domains=["acme.example"])
    customer = await create_customer(client, admin_headers, source.id, "ana@acme.example")
    assert customer["organization_id"] == org["id"]
    body = ok(await _transfer(client, admin_headers, customer["id"], target.id,
                              move_open_tickets=False))
    assert body["organization_id"] is None
    assert await organizations_in(session, target.id) == []


async def test_transfer_into_an_auto_creating_desk_creates_the_organization_there(
        client, factory, admin_headers, session):
    source, target = await factory.desk(), await factory.desk()
    await set_auto_create(client, admin_headers, target.id)
    await create_org(client, admin_headers, source.id, domains=["acme.example"])
    customer = await create_customer(client, admin_headers, source.id, "ana@acme.example")
    body = ok(await _transfer(client, admin_headers, customer["id"], target.id))
    [org] = await organizations_in(session, target.id)
    assert body["organization_id"] == org.id
    assert await domains_in(session, target.id) == {"acme.example": org.id}


async def test_transfer_writes_customer_transferred_with_the_desk_change(
        client, factory, admin_headers, session):
    source, target = await factory.desk(), await factory.desk()
    customer = await create_customer(client, admin_headers, source.id, "ana@acme.example")
    body = ok(await _transfer(client, admin_headers, customer["id"], target.id))
    [event] = await events(session, "customer.transferred", subject_id=customer["id"])
    assert event.changes == {"desk_id": [source.id, target.id]}
    assert event.desk_id == target.id
    assert event.data == body


async def test_transfer_into_a_desk_holding_the_email_is_409_and_changes_nothing(
        client, factory, admin_headers, session, problem):
    source, target = await factory.desk(), await factory.desk()
    org = await create_org(client, admin_headers, source.id, domains=["acme.example"])
    customer = await create_customer(client, admin_headers, source.id, "ana@acme.example")
    existing = await create_customer(client, admin_headers, target.id, "ANA@acme.example")
    body = problem(await _transfer(client, admin_headers, customer["id"], target.id), 409)
    assert body["existing_id"] == existing["id"]
    [row] = await customers_in(session, source.id)
    assert (row.id, row.organization_id, row.version) == (customer["id"], org["id"], 1)
    assert [c.id for c in await customers_in(session, target.id)] == [existing["id"]]
    assert await events(session, "customer.transferred") == []


async def test_transfer_to_a_desk_outside_the_scope_is_404_and_changes_nothing(
        client, factory, session, problem):
    source, target = await factory.desk(), await factory.desk()
    headers = await agent_headers(client, factory, source.id)
    customer = await create_customer(client, headers, source.id, "ana@acme.example")
    problem(await _transfer(client, headers, customer["id"], target.id), 404)
    assert [c.id for c in await customers_in(session, source.id)] == [customer["id"]]


async def test_transfer_into_an_archived_desk_is_409(client, factory, admin_headers, session,
                                                     problem):
    source, target = await factory.desk(), await factory.desk()
    customer = await create_customer(client, admin_headers, source.id, "ana@acme.example")
    ok(await client.post(f"/v1/desks/{target.id}/archive", headers=admin_headers))
    problem(await _transfer(client, admin_headers, customer["id"], target.id), 409)
    assert [c.id for c in await customers_in(session, source.id)] == [customer["id"]]


async def test_transfer_into_its_own_desk_is_422(client, factory, admin_headers, problem):
    desk = await factory.desk()
    customer = await create_customer(client, admin_headers, desk.id, "ana@acme.example")
    body = problem(await _transfer(client, admin_headers, customer["id"], desk.id), 422)
    assert error_locs(body) == [["body", "desk_id"]]


async def test_transfer_body_is_validated(client, factory, admin_headers, problem):
    desk = await factory.desk()
    customer = await create_customer(client, admin_headers, desk.id, "ana@acme.example")
    body = problem(await client.post(f"/v1/customers/{customer['id']}/transfer",
                                     headers=admin_headers,
                                     json={"desk_id": desk.id, "move_open_tickets": "maybe"}),
                   422)
    assert error_locs(body) == [["body", "move_open_tickets"]]
    body = problem(await client.post(f"/v1/customers/{customer['id']}/transfer",
                                     headers=admin_headers, json={}), 422)
    assert error_locs(body) == [["body", "desk_id"]]


# --- isolation --------------------------------------------------------------------------------

@pytest.fixture(params=["agent", "desk_token"])
def caller_kind(request) -> str:
    return request.param


async def test_a_caller_of_desk_a_gets_404_for_customers_of_desk_b(
        client, factory, admin_headers, session, problem, caller_kind):
    a, b = await factory.desk("A"), await factory.desk("B")
    if caller_kind == "agent":
        headers = await agent_headers(client, factory, a.id)
    else:
        headers = await token_headers(factory, ["customers:write"], desk_ids=[a.id])
    theirs = await create_customer(client, admin_headers, b.id, "eve@b.example")
    mine = await create_customer(client, headers, a.id, "ana@a.example")
    url = f"/v1/customers/{theirs['id']}"
    problem(await client.get(url, headers=headers), 404)
    problem(await client.patch(url, headers=headers, json={"name": "Hijacked"}), 404)
    problem(await _transfer(client, headers, theirs["id"], a.id), 404)
    problem(await _transfer(client, headers, mine["id"], b.id), 404)
    problem(await client.post("/v1/customers", headers=headers,
                              json={"desk_id": b.id, "email": "x@b.example"}), 404)
    assert await _ids(client, headers) == [mine["id"]]
    assert await _ids(client, headers, email="eve@b.example") == []
    assert ok(await client.get(url, headers=admin_headers)) == theirs
    assert [c.id for c in await customers_in(session, b.id)] == [theirs["id"]]


async def test_a_sandbox_token_sees_only_its_sandbox_customers(client, factory, admin_headers,
                                                               problem):
    sandbox = await factory.desk("Sandbox", "sandbox")
    standard = await factory.desk("Prod")
    headers = await token_headers(factory, ["customers:write"], desk_ids=[sandbox.id],
                                  sandbox=True)
    play = await create_customer(client, headers, sandbox.id, "ana@acme.example")
    real = await create_customer(client, admin_headers, standard.id, "ana@acme.example")
    problem(await client.get(f"/v1/customers/{real['id']}", headers=headers), 404)
    problem(await client.post("/v1/customers", headers=headers,
                              json={"desk_id": standard.id, "email": "x@acme.example"}), 404)
    assert await _ids(client, headers) == [play["id"]]


async def test_customers_need_the_customers_scopes(client, factory, problem):
    desk = await factory.desk()
    reader = await token_headers(factory, ["customers:read"], desk_ids=[desk.id])
    orgs_only = await token_headers(factory, ["organizations:write"], desk_ids=[desk.id])
    body = problem(await client.post("/v1/customers", headers=reader,
                                     json={"desk_id": desk.id, "email": "a@acme.example"}), 403)
    assert body["required_scope"] == "customers:write"
    assert await _ids(client, reader) == []
    problem(await client.get("/v1/customers", headers=orgs_only), 403)
    problem(await client.post(f"/v1/customers/import?desk_id={desk.id}", headers=reader,
                              content=b"email\n"), 403)


# --- desk reset -------------------------------------------------------------------------------

@pytest.mark.parametrize("kind", ["staging", "sandbox"])
async def test_reset_deletes_the_desks_customers_and_organizations_only(
        client, factory, admin_headers, session, kind):
    desk, keep = await factory.desk("Test", kind), await factory.desk("Keep", kind)
    for d in (desk, keep):
        await create_org(client, admin_headers, d.id, domains=["acme.example"])
        await create_customer(client, admin_headers, d.id, "ana@acme.example")
        await create_customer(client, admin_headers, d.id, "bob@gmail.com")
    body = ok(await client.post(f"/v1/desks/{desk.id}/reset", headers=admin_headers))
    assert body["deleted"]["customers"] == 2
    assert body["deleted"]["organizations"] == 1
    assert await count(session, Customer, desk_id=desk.id) == 0
    assert await count(session, Organization, desk_id=desk.id) == 0
    assert await domains_in(session, desk.id) == {}
    assert await count(session, Customer, desk_id=keep.id) == 2
    assert await count(session, Organization, desk_id=keep.id) == 1
    assert await domains_in(session, keep.id) != {}
    # The desk is usable again: the same email and domain are free.
    await create_org(client, admin_headers, desk.id, domains=["acme.example"])
    await create_customer(client, admin_headers, desk.id, "ana@acme.example")


async def test_reset_of_a_standard_desk_is_409_and_deletes_nothing(client, factory,
                                                                   admin_headers, session,
                                                                   problem):
    desk = await factory.desk()
    await create_customer(client, admin_headers, desk.id, "ana@acme.example")
    problem(await client.post(f"/v1/desks/{desk.id}/reset", headers=admin_headers), 409)
    assert await count(session, Customer, desk_id=desk.id) == 1


# --- input the database cannot store ----------------------------------------------------------

@pytest.mark.parametrize(("payload", "loc"), [
    ({"name": "Ana\u0000"}, ["body", "name"]),
    ({"custom_fields": {"note": "a\u0000b"}}, ["body", "custom_fields", "note"]),
])
async def test_a_nul_character_is_422_at_its_field_not_a_crash(client, factory, admin_headers,
                                                               problem, payload, loc):
    desk = await factory.desk()
    await define_field(client, admin_headers, desk.id, "customer", key="note", type="text")
    body = problem(await client.post("/v1/customers", headers=admin_headers, json={
        "desk_id": desk.id, "email": "ana@acme.example", **payload}), 422)
    assert error_locs(body) == [loc]


@pytest.mark.parametrize("params", [{"q": "a\u0000"}, {"email": "a\u0000@acme.example"}])
async def test_a_nul_character_in_a_list_filter_is_422(client, admin_headers, problem, params):
    body = problem(await client.get("/v1/customers", headers=admin_headers, params=params), 422)
    assert error_locs(body) == [["query", next(iter(params))]]


@pytest.mark.parametrize("number", ["Infinity", "-Infinity", "NaN", "1e999"])
async def test_a_non_finite_number_custom_field_is_422_not_a_crash(client, factory,
                                                                   admin_headers, problem,
                                                                   number):
    desk = await factory.desk()
    await define_field(client, admin_headers, desk.id, "customer", key="score", type="decimal")
    raw = (f'{{"desk_id": {desk.id}, "email": "ana@acme.example", '
           f'"custom_fields": {{"score": {number}}}}}')
    body = problem(await client.post("/v1/customers", content=raw, headers={
        **admin_headers, "Content-Type": "application/json"}), 422)
    assert error_locs(body) == [["body", "custom_fields", "score"]]
