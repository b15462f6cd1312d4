"""`GET /v1/tickets?q=`: full text over subject, description and comments, stemmed in the desk's
language, ranked unless a sort is given."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
import pytest_asyncio

from tests.conftest import bearer
from tests.tickets.finding import comment, ids, make_ticket, ok, walk


@pytest_asyncio.fixture(loop_scope="session")
async def desk(factory):
    return await factory.desk("Support")  # language: english, the default


@pytest_asyncio.fixture(loop_scope="session")
async def german(factory):
    return await factory.desk("Kundendienst", settings={"language": "german"})


async def _search(client, headers, q: str, **params: Any) -> list[int]:
    return ids(await client.get("/v1/tickets", headers=headers, params={"q": q, **params}))


# --- what is searched -------------------------------------------------------------------------

async def test_q_finds_a_word_of_the_subject(client, admin_headers, desk):
    hit = await make_ticket(client, admin_headers, desk.id, "Toner cartridge empty")
    await make_ticket(client, admin_headers, desk.id, "Password reset")
    assert await _search(client, admin_headers, "toner", desk_id=desk.id) == [hit["id"]]


async def test_q_finds_a_word_of_the_description(client, admin_headers, desk):
    hit = await make_ticket(client, admin_headers, desk.id, "Help",
                            description="The toner cartridge is empty")
    await make_ticket(client, admin_headers, desk.id, "Help", description="Nothing to see")
    assert await _search(client, admin_headers, "cartridge", desk_id=desk.id) == [hit["id"]]


@pytest.mark.parametrize("public", [True, False], ids=["public reply", "internal note"])
async def test_q_finds_a_word_of_a_comment(client, admin_headers, desk, public):
    hit = await make_ticket(client, admin_headers, desk.id, "Help")
    other = await make_ticket(client, admin_headers, desk.id, "Help")
    await comment(client, admin_headers, hit["id"], "Replaced the fuser unit", public=public)
    await comment(client, admin_headers, other["id"], "Rebooted it", public=public)
    assert await _search(client, admin_headers, "fuser", desk_id=desk.id) == [hit["id"]]


async def test_q_is_case_insensitive(client, admin_headers, desk):
    hit = await make_ticket(client, admin_headers, desk.id, "VPN keeps DROPPING")
    assert await _search(client, admin_headers, "vpn dropping", desk_id=desk.id) == [hit["id"]]
    assert await _search(client, admin_headers, "Vpn", desk_id=desk.id) == [hit["id"]]


async def test_comment_words_stay_searchable_after_the_subject_changes(client, admin_headers,
                                                                       desk):
    ticket = await make_ticket(client, admin_headers, desk.id, "Printer broken")
    await comment(client, admin_headers, ticket["id"], "swapped the fuser", public=False)
    ok(await client.patch(f"/v1/tickets/{ticket['id']}", headers=admin_headers,
                          json={"subject": "Scanner broken", "description": "flatbed"}))
    assert await _search(client, admin_headers, "fuser", desk_id=desk.id) == [ticket["id"]]
    assert await _search(client, admin_headers, "scanner", desk_id=desk.id) == [ticket["id"]]
    assert await _search(client, admin_headers, "flatbed", desk_id=desk.id) == [ticket["id"]]
    assert await _search(client, admin_headers, "printer", desk_id=desk.id) == []


async def test_words_of_a_replaced_description_are_no_longer_found(client, admin_headers, desk):
    ticket = await make_ticket(client, admin_headers, desk.id, "Help", description="kerberos")
    ok(await client.patch(f"/v1/tickets/{ticket['id']}", headers=admin_headers,
                          json={"description": "ldap"}))
    assert await _search(client, admin_headers, "kerberos", desk_id=desk.id) == []
    assert await _search(client, admin_headers, "ldap", desk_id=desk.id) == [ticket["id"]]


async def test_changes_to_other_fields_keep_the_text_searchable(client, admin_headers, desk):
    ticket = await make_ticket(client, admin_headers, desk.id, "Toner low")
    await comment(client, admin_headers, ticket["id"], "ordered cyan")
    ok(await client.patch(f"/v1/tickets/{ticket['id']}", headers=admin_headers,
                          json={"status": "open", "priority": "high", "tags": ["x"]}))
    assert await _search(client, admin_headers, "toner", desk_id=desk.id) == [ticket["id"]]
    assert await _search(client, admin_headers, "cyan", desk_id=desk.id) == [ticket["id"]]


# --- language ---------------------------------------------------------------------------------

@pytest.mark.parametrize(("stored", "query"), [
    ("Printer offline", "printers"),
    ("Both printers offline", "printer"),
    ("Invoices are missing", "invoice"),
    ("Cannot connect", "connecting"),
])
async def test_english_desk_matches_other_forms_of_a_word(client, admin_headers, desk, stored,
                                                          query):
    hit = await make_ticket(client, admin_headers, desk.id, stored)
    assert await _search(client, admin_headers, query, desk_id=desk.id) == [hit["id"]]


async def test_german_desk_stems_in_german(client, admin_headers, factory, german):
    hit = await make_ticket(client, admin_headers, german.id, "Die Drucker funktionieren nicht",
                            description="Zwei Rechnungen fehlen")
    assert await _search(client, admin_headers, "Druckern", desk_id=german.id) == [hit["id"]]
    assert await _search(client, admin_headers, "Rechnung", desk_id=german.id) == [hit["id"]]
    # The same words in an English desk are not German words: no stem in common.
    english = await factory.desk("English")
    await make_ticket(client, admin_headers, english.id, "Die Drucker funktionieren nicht")
    assert await _search(client, admin_headers, "Druckern", desk_id=english.id) == []


async def test_german_desk_drops_german_stop_words(client, admin_headers, german):
    await make_ticket(client, admin_headers, german.id, "Die Drucker funktionieren nicht")
    assert await _search(client, admin_headers, "die", desk_id=german.id) == []


async def test_search_over_desks_of_two_languages_stems_each_in_its_own(client, admin_headers,
                                                                        desk, german):
    english_hit = await make_ticket(client, admin_headers, desk.id, "Printer offline")
    german_hit = await make_ticket(client, admin_headers, german.id, "Drucker offline")
    assert await _search(client, admin_headers, "printers") == [english_hit["id"]]
    assert await _search(client, admin_headers, "Druckern") == [german_hit["id"]]
    assert sorted(await _search(client, admin_headers, "offline")) == sorted(
        [english_hit["id"], german_hit["id"]])


async def test_stop_words_alone_find_nothing_and_do_not_fail(client, admin_headers, desk):
    await make_ticket(client, admin_headers, desk.id, "The printer and the scanner")
    body = ok(await client.get("/v1/tickets", headers=admin_headers,
                               params={"q": "the and", "desk_id": desk.id}))
    assert body == {"items": [], "next_cursor": None}


# --- ranking ----------------------------------------------------------------------------------

async def test_subject_match_ranks_above_a_comment_only_match_without_sort(client, admin_headers,
                                                                           desk):
    in_subject = await make_ticket(client, admin_headers, desk.id, "Toner empty")
    in_comment = await make_ticket(client, admin_headers, desk.id, "Printer problem")
    await comment(client, admin_headers, in_comment["id"], "needs toner", public=False)
    # Newer first would put `in_comment` first; relevance puts the subject first.
    assert await _search(client, admin_headers, "toner", desk_id=desk.id) == [
        in_subject["id"], in_comment["id"]]


async def test_subject_outranks_description_which_outranks_comments(client, admin_headers,
                                                                    desk):
    in_comment = await make_ticket(client, admin_headers, desk.id, "Help")
    await comment(client, admin_headers, in_comment["id"], "the fuser again")
    in_description = await make_ticket(client, admin_headers, desk.id, "Help",
                                       description="fuser broke")
    in_subject = await make_ticket(client, admin_headers, desk.id, "Fuser broke")
    # Created in the opposite order to what relevance gives.
    assert await _search(client, admin_headers, "fuser", desk_id=desk.id) == [
        in_subject["id"], in_description["id"], in_comment["id"]]


@pytest.mark.parametrize(("sort", "newest_first"), [("-created_at", True),
                                                    ("created_at", False)])
async def test_with_sort_the_sort_applies_instead_of_relevance(client, admin_headers, desk, sort,
                                                               newest_first):
    in_subject = await make_ticket(client, admin_headers, desk.id, "Toner empty")
    in_comment = await make_ticket(client, admin_headers, desk.id, "Printer problem")
    await comment(client, admin_headers, in_comment["id"], "needs toner")
    await make_ticket(client, admin_headers, desk.id, "Unrelated")
    expected = [in_comment["id"], in_subject["id"]]
    assert await _search(client, admin_headers, "toner", desk_id=desk.id, sort=sort) == (
        expected if newest_first else expected[::-1])


@pytest_asyncio.fixture(loop_scope="session")
async def many_matches(client, admin_headers, desk) -> list[int]:
    """Fourteen matches for "modem": some in the subject, some only in comments, several with
    identical text (equal rank: the cursor must break the tie by id)."""
    made = []
    for i in range(14):
        if i % 3 == 0:
            ticket = await make_ticket(client, admin_headers, desk.id, "Modem down")
        elif i % 3 == 1:
            ticket = await make_ticket(client, admin_headers, desk.id, "Network down",
                                       description="modem lights blink")
        else:
            ticket = await make_ticket(client, admin_headers, desk.id, "Network down")
            await comment(client, admin_headers, ticket["id"], "modem replaced")
        made.append(ticket["id"])
    await make_ticket(client, admin_headers, desk.id, "Unrelated")
    return made


@pytest.mark.parametrize("limit", [1, 2, 4, 5])
async def test_paging_through_ranked_results_gives_each_match_once_in_rank_order(
        client, admin_headers, desk, many_matches, limit):
    whole = await _search(client, admin_headers, "modem", desk_id=desk.id, limit=200)
    assert sorted(whole) == sorted(many_matches)
    paged, _ = await walk(client, "/v1/tickets", admin_headers,
                          {"q": "modem", "desk_id": desk.id, "limit": limit})
    assert paged == whole
    # Equal relevance: the higher id first; subject matches before the others.
    subject_matches = many_matches[::3]
    assert whole[:len(subject_matches)] == sorted(subject_matches, reverse=True)


async def test_ranked_paging_while_matches_arrive_repeats_and_skips_nothing(
        client, admin_headers, desk, many_matches):
    seen: list[int] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"q": "modem", "desk_id": desk.id, "limit": 4}
        if cursor:
            params["cursor"] = cursor
        page = ok(await client.get("/v1/tickets", headers=admin_headers, params=params))
        seen += [t["id"] for t in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
        await make_ticket(client, admin_headers, desk.id, "Modem modem modem")
        await make_ticket(client, admin_headers, desk.id, "x", description="old modem")
    assert len(seen) == len(set(seen))
    assert set(many_matches) <= set(seen)


async def test_searching_with_a_sort_pages_with_that_sorts_cursor(client, admin_headers, desk,
                                                                  many_matches):
    paged, pages = await walk(client, "/v1/tickets", admin_headers,
                              {"q": "modem", "desk_id": desk.id, "limit": 5,
                               "sort": "created_at"})
    assert paged == sorted(many_matches)
    assert pages == 3


def _forge(payload: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(payload).encode()).decode().rstrip("=")


async def test_a_ranked_cursor_is_400_with_a_sort_and_a_sorted_one_is_400_without(
        client, admin_headers, desk, many_matches, problem):
    ranked = ok(await client.get("/v1/tickets", headers=admin_headers,
                                 params={"q": "modem", "desk_id": desk.id, "limit": 2}))
    problem(await client.get("/v1/tickets", headers=admin_headers, params={
        "q": "modem", "desk_id": desk.id, "sort": "-created_at",
        "cursor": ranked["next_cursor"]}), 400)
    problem(await client.get("/v1/tickets", headers=admin_headers, params={
        "desk_id": desk.id, "cursor": ranked["next_cursor"]}), 400)
    problem(await client.get("/v1/tickets", headers=admin_headers, params={
        "desk_id": desk.id, "cursor": ranked["next_cursor"], "sort": "priority"}), 400)
    by_date = ok(await client.get("/v1/tickets", headers=admin_headers, params={
        "q": "modem", "desk_id": desk.id, "limit": 2, "sort": "-created_at"}))
    problem(await client.get("/v1/tickets", headers=admin_headers, params={
        "q": "modem", "desk_id": desk.id, "cursor": by_date["next_cursor"]}), 400)


@pytest.mark.parametrize("cursor", [
    _forge(["rank", [True, 5]]),
    _forge(["rank", [0.5, True]]),
    _forge(["rank", [0.5, 2**70]]),
    _forge(["rank", [0.5, -1]]),
    _forge(["rank", ["high", 5]]),
    _forge(["rank", [0.5]]),
    _forge(["rank", [{"t": "2026-01-01T00:00:00+00:00"}, 5]]),
])
async def test_forged_ranked_cursor_is_400(client, admin_headers, desk, problem, cursor):
    body = problem(await client.get("/v1/tickets", headers=admin_headers, params={
        "q": "modem", "desk_id": desk.id, "cursor": cursor}), 400)
    assert body["errors"][0]["loc"] == ["query", "cursor"]


# --- web search syntax ------------------------------------------------------------------------

@pytest_asyncio.fixture(loop_scope="session")
async def phrases(client, admin_headers, desk) -> dict[str, int]:
    texts = {
        "jammed": "The printer jammed again",
        "reversed": "Jammed paper in the printer",
        "toner": "Printer toner low",
        "scanner": "Scanner offline",
    }
    return {k: (await make_ticket(client, admin_headers, desk.id, v))["id"]
            for k, v in texts.items()}


@pytest.mark.parametrize(("q", "expected"), [
    ('"printer jammed"', {"jammed"}),
    ("printer jammed", {"jammed", "reversed"}),
    ("printer -toner", {"jammed", "reversed"}),
    ("printer -jammed", {"toner"}),
    ("toner or scanner", {"toner", "scanner"}),
    ('"printer toner" or scanner', {"toner", "scanner"}),
    ("fax", set()),
])
async def test_web_search_syntax(client, admin_headers, desk, phrases, q, expected):
    found = await _search(client, admin_headers, q, desk_id=desk.id)
    assert sorted(found) == sorted(phrases[name] for name in expected)


@pytest.mark.parametrize("q", ["&", "!", "(", ")", "'", "\\", ":*", "a <-> b", "a & | b",
                               '"unclosed', "- -", "or", "\u00e9t\u00e9", "\U0001f5a8"])
async def test_odd_search_text_answers_200(client, admin_headers, desk, phrases, q):
    body = ok(await client.get("/v1/tickets", headers=admin_headers,
                               params={"q": q, "desk_id": desk.id}))
    assert isinstance(body["items"], list)


async def test_q_longer_than_500_characters_is_422(client, admin_headers, problem):
    body = problem(await client.get("/v1/tickets", headers=admin_headers,
                                    params={"q": "a" * 501}), 422)
    assert [e["loc"] for e in body["errors"]] == [["query", "q"]]


async def test_empty_q_lists_as_without_q(client, admin_headers, desk, phrases):
    assert await _search(client, admin_headers, "", desk_id=desk.id) == ids(
        await client.get("/v1/tickets", headers=admin_headers, params={"desk_id": desk.id}))


# --- combined with filters, isolation ---------------------------------------------------------

async def test_q_combines_with_other_filters(client, admin_headers, desk):
    target = await make_ticket(client, admin_headers, desk.id, "Toner empty", status="open",
                               tags=["hardware"])
    await make_ticket(client, admin_headers, desk.id, "Toner empty", status="pending",
                      tags=["hardware"])
    await make_ticket(client, admin_headers, desk.id, "Toner empty", status="open")
    await make_ticket(client, admin_headers, desk.id, "Paper empty", status="open",
                      tags=["hardware"])
    assert await _search(client, admin_headers, "toner", desk_id=desk.id, status="open",
                         tag="hardware") == [target["id"]]
    assert await _search(client, admin_headers, "toner", desk_id=desk.id, status="open",
                         tag="hardware", sort="-updated_at") == [target["id"]]


async def test_no_match_is_an_empty_page(client, admin_headers, desk):
    await make_ticket(client, admin_headers, desk.id, "Toner empty")
    body = ok(await client.get("/v1/tickets", headers=admin_headers,
                               params={"q": "xylophone", "desk_id": desk.id}))
    assert body == {"items": [], "next_cursor": None}


async def test_another_desks_match_never_appears(client, admin_headers, factory, desk):
    other = await factory.desk("Elsewhere")
    mine = await make_ticket(client, admin_headers, desk.id, "Toner empty")
    theirs = await make_ticket(client, admin_headers, other.id, "Toner empty")
    await comment(client, admin_headers, theirs["id"], "toner toner toner")
    scoped = bearer(await factory.token(["tickets:read"], desk_ids=[desk.id]))
    assert await _search(client, scoped, "toner") == [mine["id"]]
    assert await _search(client, scoped, "toner", sort="-created_at") == [mine["id"]]
    assert await _search(client, admin_headers, "toner", desk_id=desk.id) == [mine["id"]]
    assert sorted(await _search(client, admin_headers, "toner")) == sorted(
        [mine["id"], theirs["id"]])


async def test_search_in_a_desk_outside_the_scope_is_404(client, factory, desk, problem):
    other = await factory.desk("Elsewhere")
    scoped = bearer(await factory.token(["tickets:read"], desk_ids=[desk.id]))
    problem(await client.get("/v1/tickets", headers=scoped,
                             params={"q": "toner", "desk_id": other.id}), 404)


async def test_a_ticket_moved_to_a_german_desk_is_found_by_german_stemming(client, admin_headers,
                                                                           desk, german):
    ticket = await make_ticket(client, admin_headers, desk.id, "Rechnungen fehlen")
    await comment(client, admin_headers, ticket["id"], "Drucker kaputt")
    ok(await client.post(f"/v1/tickets/{ticket['id']}/transfer", headers=admin_headers,
                         json={"desk_id": german.id}))
    assert await _search(client, admin_headers, "Rechnung", desk_id=german.id) == [ticket["id"]]
    assert await _search(client, admin_headers, "Druckern", desk_id=german.id) == [ticket["id"]]
