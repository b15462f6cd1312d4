"""`POST /v1/customers/import`: CSV in, all or nothing, organizations by name or by domain."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
import pytest_asyncio

from app.main import create_app
from app.models import Customer, Event, Organization
from tests.customers.helpers import (
    count,
    create_customer,
    create_org,
    customers_in,
    define_field,
    error_locs,
    events,
    ok,
    organizations_in,
    set_auto_create,
    token_headers,
)

CSV = {"Content-Type": "text/csv"}
MIB = 1024 * 1024


async def post_csv(client, headers, desk_id, text: str | bytes, **params) -> httpx.Response:
    body = text.encode() if isinstance(text, str) else text
    return await client.post("/v1/customers/import", headers={**headers, **CSV},
                             params={"desk_id": desk_id, **params}, content=body)


async def nothing_written(session, desk_id: int) -> None:
    assert await count(session, Customer, desk_id=desk_id) == 0
    assert await count(session, Organization, desk_id=desk_id) == 0
    assert await count(session, Event, desk_id=desk_id) == 0


@pytest_asyncio.fixture(loop_scope="session")
async def staging(factory, client, admin_headers):
    """A staging desk with auto-created organizations and two customer fields."""
    desk = await factory.desk("Import", kind="staging")
    await set_auto_create(client, admin_headers, desk.id)
    await define_field(client, admin_headers, desk.id, "customer", key="plan", type="select",
                       options=[{"value": "free", "label": "Free"},
                                {"value": "pro", "label": "Pro"}])
    await define_field(client, admin_headers, desk.id, "customer", key="seats", type="integer",
                       min=1)
    return desk


# --- success ----------------------------------------------------------------------------------

async def test_import_creates_customers_and_organizations_by_name_and_by_domain(
        client, admin_headers, staging, session):
    owner = await create_org(client, admin_headers, staging.id, "Owner",
                             domains=["owned.example"])
    partner = await create_org(client, admin_headers, staging.id, "Existing Partner")
    response = await post_csv(client, admin_headers, staging.id, (
        "Email,Name,Organization,Phone,Plan,Seats\r\n"
        "Ana@NewCo.example,Ana Lima,,+49 30 1234567,pro,5\r\n"
        "bob@newco.example,Bob,,,free,\r\n"
        "carl@owned.example,Carl,,,,\r\n"
        "dina@gmail.com,Dina,,,,\r\n"
        "eve@elsewhere.example,Eve,Globex,,,\r\n"
        "fay@other.example,Fay,GLOBEX,,,\r\n"
        "gus@x.example,Gus,existing partner,,,\r\n"
        "\r\n"
    ))
    assert ok(response) == {"desk_id": staging.id, "rows": 7, "created": 7, "skipped": 0,
                            "organizations_created": 2}
    rows = {c.email: c for c in await customers_in(session, staging.id)}
    orgs = {o.name: o.id for o in await organizations_in(session, staging.id)}
    assert set(orgs) == {"Owner", "Existing Partner", "newco.example", "Globex"}
    assert (rows["ana@newco.example"].name, rows["ana@newco.example"].phone,
            rows["ana@newco.example"].custom_fields) == ("Ana Lima", "+49 30 1234567",
                                                         {"plan": "pro", "seats": 5})
    assert rows["bob@newco.example"].custom_fields == {"plan": "free"}
    assert rows["ana@newco.example"].organization_id == orgs["newco.example"]
    assert rows["bob@newco.example"].organization_id == orgs["newco.example"]
    assert rows["carl@owned.example"].organization_id == owner["id"]
    assert rows["dina@gmail.com"].organization_id is None
    assert rows["eve@elsewhere.example"].organization_id == orgs["Globex"]
    assert rows["fay@other.example"].organization_id == orgs["Globex"]
    assert rows["gus@x.example"].organization_id == partner["id"]
    created = await events(session, "customer.created", desk_id=staging.id)
    assert sorted(e.subject_id for e in created) == sorted(c.id for c in rows.values())
    assert {e.data["email"] for e in created} == set(rows)
    org_events = await events(session, "organization.created", desk_id=staging.id)
    assert {e.data["name"] for e in org_events} >= {"newco.example", "Globex"}


async def test_a_header_only_file_imports_nothing(client, admin_headers, staging):
    assert ok(await post_csv(client, admin_headers, staging.id, "email,name\n")) == {
        "desk_id": staging.id, "rows": 0, "created": 0, "skipped": 0,
        "organizations_created": 0}


async def test_a_byte_order_mark_and_quoted_cells_are_understood(client, admin_headers,
                                                                  staging, session):
    text = '\ufeffemail,name\n"ana@acme.example","Lima, Ana ""the boss"""\n'
    assert ok(await post_csv(client, admin_headers, staging.id, text))["created"] == 1
    [customer] = await customers_in(session, staging.id)
    assert customer.name == 'Lima, Ana "the boss"'


async def test_without_auto_create_no_domain_organization_is_made(client, factory,
                                                                  admin_headers, session):
    desk = await factory.desk(kind="staging")
    body = ok(await post_csv(client, admin_headers, desk.id,
                             "email,organization\nana@newco.example,\nbob@b.example,Named\n"))
    assert (body["created"], body["organizations_created"]) == (2, 1)
    assert [o.name for o in await organizations_in(session, desk.id)] == ["Named"]


async def test_organizations_named_in_the_file_need_no_required_organization_fields(
        client, factory, admin_headers, session):
    desk = await factory.desk(kind="staging")
    await define_field(client, admin_headers, desk.id, "organization", key="tier",
                       type="text", required=True)
    body = ok(await post_csv(client, admin_headers, desk.id,
                             "email,organization\nana@acme.example,Acme\n"))
    assert body["organizations_created"] == 1
    [org] = await organizations_in(session, desk.id)
    assert (org.name, org.custom_fields) == ("Acme", {})


async def test_ten_thousand_rows_over_one_mebibyte_import_in_one_request(
        client, admin_headers, staging, session):
    owner = await create_org(client, admin_headers, staging.id, "Owner", domains=["co02.example"])
    lines = ["email,name,organization,phone,plan,seats"]
    for i in range(10_000):
        if i % 10 == 0:
            email, org = f"user{i:05d}@gmail.com", ""
        elif i % 10 == 1:
            email, org = f"user{i:05d}@co{i % 40:02d}.example", f"Partner {i % 3}"
        else:
            email, org = f"user{i:05d}@co{i % 40:02d}.example", ""
        lines.append(f"{email},Customer {i:05d} {'of the large import ' * 3},{org},"
                     f"+1 555 {i:05d},{'pro' if i % 2 else 'free'},{i % 7 + 1}")
    text = "\n".join(lines) + "\n"
    assert len(text.encode()) > MIB

    body = ok(await post_csv(client, admin_headers, staging.id, text))

    # 3 partners named in the file; 32 company domains, one of them already owned.
    assert body == {"desk_id": staging.id, "rows": 10_000, "created": 10_000, "skipped": 0,
                    "organizations_created": 3 + 31}
    assert await count(session, Customer, desk_id=staging.id) == 10_000
    assert await count(session, Organization, desk_id=staging.id) == 1 + 3 + 31
    assert await count(session, Event, desk_id=staging.id, type="customer.created") == 10_000
    rows = {c.email: c for c in await customers_in(session, staging.id)}
    assert rows["user00000@gmail.com"].organization_id is None
    assert rows["user00002@co02.example"].organization_id == owner["id"]
    assert rows["user00003@co03.example"].custom_fields == {"plan": "pro", "seats": 4}
    partner = rows["user00001@co01.example"].organization_id
    assert partner is not None
    assert rows["user00031@co31.example"].organization_id == partner  # "Partner 1" again
    assert len({c.organization_id for c in rows.values()} - {None}) == 1 + 3 + 31


# --- all or nothing ---------------------------------------------------------------------------

@pytest.mark.parametrize(("row", "column"), [
    ("not-an-email,Bob,,,,", "email"),
    ("bob@acme.example,Bob,,call me,,", "phone"),
    ("bob@acme.example,Bob,,,gold,", "plan"),
    ("bob@acme.example,Bob,,,,0", "seats"),
    ("bob@acme.example,Bob,,,,inf", "seats"),
    ("bob@acme.example," + "x" * 201 + ",,,,", "name"),
    ("bob@acme.example,Bob," + "x" * 201 + ",,,", "organization"),
    ("bob@acme.example,Bob\x00,,,,", "name"),
    ("bob@acme.example,Bob,,,", "*"),
])
async def test_one_bad_row_rejects_the_file_naming_its_line_and_column(
        client, admin_headers, staging, session, problem, row, column):
    text = ("email,name,organization,phone,plan,seats\n"
            "ana@newco.example,Ana,Named,,pro,2\n"
            f"{row}\n"
            "carl@acme.example,Carl,,,,\n")
    body = problem(await post_csv(client, admin_headers, staging.id, text), 422)
    assert error_locs(body) == [["body", "row", 3, column]]
    assert body["invalid_rows"] == 1
    assert "nothing was imported" in body["detail"]
    await nothing_written(session, staging.id)


async def test_a_repeated_email_in_the_file_is_named_at_its_second_line(
        client, admin_headers, staging, session, problem):
    text = ("email,name\nana@acme.example,Ana\nbob@acme.example,Bob\n"
            "ANA@Acme.example,Ana again\n")
    body = problem(await post_csv(client, admin_headers, staging.id, text), 422)
    assert body["errors"] == [{"loc": ["body", "row", 4, "email"],
                               "msg": "repeats the email of row 2", "type": "duplicate"}]
    await nothing_written(session, staging.id)


async def test_every_bad_row_is_reported(client, admin_headers, staging, problem):
    text = "email,plan\nx,pro\nana@acme.example,gold\nbob@acme.example,free\n"
    body = problem(await post_csv(client, admin_headers, staging.id, text), 422)
    assert error_locs(body) == [["body", "row", 2, "email"], ["body", "row", 3, "plan"]]
    assert body["invalid_rows"] == 2


async def test_a_bad_row_after_the_first_batches_still_writes_nothing(
        client, admin_headers, staging, session, problem):
    lines = ["email,name,organization"]
    lines += [f"user{i:04d}@co{i % 5}.example,User {i},{'Named' if i % 7 == 0 else ''}"
              for i in range(2_500)]
    lines.append("broken-address,Broken,")
    body = problem(await post_csv(client, admin_headers, staging.id, "\n".join(lines)), 422)
    assert error_locs(body) == [["body", "row", 2_502, "email"]]
    await nothing_written(session, staging.id)


async def test_a_bad_record_spanning_lines_is_named_at_its_first_line(
        client, admin_headers, staging, problem):
    text = 'email,name\n"ana@acme.example","Ana\nLima"\n"x","Bob\nthe\nBuilder"\n'
    body = problem(await post_csv(client, admin_headers, staging.id, text), 422)
    assert error_locs(body) == [["body", "row", 4, "email"]]


# --- header and file problems -----------------------------------------------------------------

@pytest.mark.parametrize(("header", "loc", "type_"), [
    ("email,name,colour", ["body", "header", "colour"], "unknown_column"),
    ("email,,name", ["body", "header", 1], "unknown_column"),
    ("email,name,Email", ["body", "header", "email"], "duplicate"),
    ("name,phone", ["body", "header", "email"], "missing"),
])
async def test_a_bad_header_is_422_and_writes_nothing(client, admin_headers, staging, session,
                                                      problem, header, loc, type_):
    body = problem(await post_csv(client, admin_headers, staging.id,
                                  f"{header}\nana@acme.example,Ana,x\n"), 422)
    assert (loc, type_) in [(e["loc"], e["type"]) for e in body["errors"]]
    await nothing_written(session, staging.id)


async def test_a_required_custom_field_without_a_column_is_a_header_error(
        client, factory, admin_headers, problem):
    desk = await factory.desk(kind="staging")
    await define_field(client, admin_headers, desk.id, "customer", key="plan", type="text",
                       required=True)
    body = problem(await post_csv(client, admin_headers, desk.id,
                                  "email\nana@acme.example\nbob@acme.example\n"), 422)
    assert body["errors"] == [{"loc": ["body", "header", "plan"],
                               "msg": "a required custom field needs a column",
                               "type": "missing"}]
    body = problem(await post_csv(client, admin_headers, desk.id,
                                  "email,plan\nana@acme.example,\n"), 422)
    assert error_locs(body) == [["body", "row", 2, "plan"]]


async def test_an_empty_body_is_422(client, admin_headers, staging, problem):
    body = problem(await post_csv(client, admin_headers, staging.id, b""), 422)
    assert error_locs(body) == [["body"]]


async def test_a_file_that_is_not_utf8_is_422(client, admin_headers, staging, session,
                                              problem):
    body = problem(await post_csv(client, admin_headers, staging.id,
                                  b"email,name\nana@acme.example,Jos\xe9\n"), 422)
    assert body["errors"][0]["type"] == "encoding"
    await nothing_written(session, staging.id)


async def test_a_cell_over_the_csv_field_limit_is_422(client, admin_headers, staging, problem):
    text = "email,name\nana@acme.example," + '"' + "x" * 200_000 + '"\n'
    body = problem(await post_csv(client, admin_headers, staging.id, text), 422)
    assert body["errors"][0]["type"] == "csv"
    assert body["errors"][0]["loc"][:2] == ["body", "row"]


# --- existing customers -----------------------------------------------------------------------

async def test_existing_emails_reject_the_file_by_default(client, admin_headers, staging,
                                                          session, problem):
    existing = await create_customer(client, admin_headers, staging.id, "ana@acme.example")
    text = "email,name\nbob@acme.example,Bob\nANA@acme.example,Ana\n"
    body = problem(await post_csv(client, admin_headers, staging.id, text), 422)
    assert error_locs(body) == [["body", "row", 3, "email"]]
    assert body["errors"][0]["type"] == "customer_exists"
    assert [c.id for c in await customers_in(session, staging.id)] == [existing["id"]]
    problem(await post_csv(client, admin_headers, staging.id, text, on_existing="error"), 422)


async def test_existing_emails_are_skipped_with_on_existing_skip(client, admin_headers,
                                                                 staging, session):
    existing = await create_customer(client, admin_headers, staging.id, "ana@acme.example",
                                     name="Ana Original")
    text = "email,name\nbob@acme.example,Bob\nANA@acme.example,Ana Imported\n"
    body = ok(await post_csv(client, admin_headers, staging.id, text, on_existing="skip"))
    assert (body["rows"], body["created"], body["skipped"]) == (2, 1, 1)
    rows = {c.email: c for c in await customers_in(session, staging.id)}
    assert rows["ana@acme.example"].id == existing["id"]
    assert rows["ana@acme.example"].name == "Ana Original"
    assert "bob@acme.example" in rows


async def test_importing_the_same_file_twice_with_skip_creates_nothing_new(
        client, admin_headers, staging, session):
    text = "email\nana@acme.example\nbob@acme.example\n"
    ok(await post_csv(client, admin_headers, staging.id, text))
    again = ok(await post_csv(client, admin_headers, staging.id, text, on_existing="skip"))
    assert (again["created"], again["skipped"]) == (0, 2)
    assert await count(session, Customer, desk_id=staging.id) == 2


async def test_an_unknown_on_existing_is_422(client, admin_headers, staging, problem):
    body = problem(await post_csv(client, admin_headers, staging.id, "email\n",
                                  on_existing="overwrite"), 422)
    assert error_locs(body) == [["query", "on_existing"]]


# --- desk -------------------------------------------------------------------------------------

async def test_the_desk_is_required_and_must_be_visible_and_active(
        client, factory, admin_headers, problem):
    response = await client.post("/v1/customers/import", headers={**admin_headers, **CSV},
                                 content=b"email\n")
    assert error_locs(problem(response, 422)) == [["query", "desk_id"]]
    mine, other = await factory.desk(), await factory.desk()
    headers = await token_headers(factory, ["customers:write"], desk_ids=[mine.id])
    problem(await post_csv(client, headers, other.id, "email\nana@acme.example\n"), 404)
    ok(await client.post(f"/v1/desks/{mine.id}/archive", headers=admin_headers))
    problem(await post_csv(client, headers, mine.id, "email\nana@acme.example\n"), 409)


async def test_a_sandbox_token_imports_only_into_its_sandbox(client, factory, admin_headers,
                                                             session, problem):
    sandbox, standard = await factory.desk("Play", "sandbox"), await factory.desk("Prod")
    headers = await token_headers(factory, ["customers:write"], desk_ids=[sandbox.id],
                                  sandbox=True)
    problem(await post_csv(client, headers, standard.id, "email\nana@acme.example\n"), 404)
    assert ok(await post_csv(client, headers, sandbox.id, "email\nana@acme.example\n")
              )["created"] == 1
    assert await count(session, Customer, desk_id=standard.id) == 0


# --- body size --------------------------------------------------------------------------------

async def test_bodies_over_one_mebibyte_are_413_on_other_paths(client, factory, admin_headers,
                                                               problem):
    desk = await factory.desk()
    big = b"x" * (MIB + 1)
    problem(await client.post("/v1/customers", headers={**admin_headers, **CSV}, content=big),
            413)
    problem(await client.post("/v1/organizations", headers=admin_headers, content=big), 413)
    problem(await client.post(f"/v1/customers/import/extra?desk_id={desk.id}",
                              headers={**admin_headers, **CSV}, content=big), 413)


@pytest_asyncio.fixture(loop_scope="session")
async def small_import_client(settings, sessionmaker, redis) -> AsyncIterator[httpx.AsyncClient]:
    """A client of an app whose import limit is 4 KiB."""
    application = create_app(settings.model_copy(update={"max_import_bytes": 4096}),
                             manage_resources=False)
    application.state.sessionmaker = sessionmaker
    application.state.redis = application.state.arq = redis
    transport = httpx.ASGITransport(app=application, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
        yield c


async def test_an_import_over_max_import_bytes_is_413(small_import_client, admin_headers,
                                                      staging, session, problem):
    lines = ["email"] + [f"user{i:04d}@acme.example" for i in range(400)]
    text = "\n".join(lines)
    assert len(text) > 4096
    problem(await post_csv(small_import_client, admin_headers, staging.id, text), 413)
    assert await count(session, Customer, desk_id=staging.id) == 0
    small = ok(await post_csv(small_import_client, admin_headers, staging.id,
                              "email\nana@acme.example\n"))
    assert small["created"] == 1


async def test_a_repeated_import_with_the_same_idempotency_key_imports_once(
        client, admin_headers, staging, session):
    headers = {**admin_headers, "Idempotency-Key": "import-1"}
    text = "email\nana@acme.example\nbob@acme.example\n"
    first = await post_csv(client, headers, staging.id, text)
    again = await post_csv(client, headers, staging.id, text)
    assert ok(first)["created"] == 2
    assert again.json() == first.json()
    assert again.headers.get("Idempotent-Replayed") == "true"
    assert await count(session, Customer, desk_id=staging.id) == 2
