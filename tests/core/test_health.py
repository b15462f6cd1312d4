"""Liveness, readiness (PostgreSQL + Redis) and Prometheus metrics."""

from __future__ import annotations

import re

from sqlalchemy.ext.asyncio import create_async_engine

from app.core.db import create_sessionmaker
from app.core.middleware import _route_template
from app.core.resources import redis_client


async def test_healthz_answers_200(client):
    response = await client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


async def test_readyz_answers_200_when_database_and_redis_answer(client):
    response = await client.get("/readyz")
    assert response.status_code == 200
    assert response.json() == {"status": "ready", "checks": {"database": "ok", "redis": "ok"}}


async def test_readyz_answers_503_when_redis_is_unreachable(app, client, problem):
    app.state.redis = redis_client("redis://127.0.0.1:1/0")
    try:
        response = await client.get("/readyz")
    finally:
        await app.state.redis.aclose()
    body = problem(response, 503)
    assert body["type"] == "urn:switchboard:problem:not-ready"
    assert body["detail"] == "Not ready: redis."
    assert body["checks"]["database"] == "ok"
    assert body["checks"]["redis"].startswith("error: ")


async def test_readyz_answers_503_when_redis_is_not_configured(app, client, problem):
    app.state.redis = None
    body = problem(await client.get("/readyz"), 503)
    assert body["checks"] == {"database": "ok", "redis": "error: RuntimeError"}


async def test_readyz_answers_503_when_the_database_is_unreachable(app, client, problem):
    engine = create_async_engine("postgresql+asyncpg://nobody:x@127.0.0.1:1/none")
    app.state.sessionmaker = create_sessionmaker(engine)
    try:
        response = await client.get("/readyz")
    finally:
        await engine.dispose()
    body = problem(response, 503)
    assert body["detail"] == "Not ready: database."
    assert body["checks"]["database"].startswith("error: ")
    assert body["checks"]["redis"] == "ok"
    assert "nobody" not in response.text


async def test_healthz_works_while_dependencies_are_down(app, client):
    app.state.redis = None
    assert (await client.get("/healthz")).status_code == 200


def _requests_total(metrics: str, method: str, route: str, status: str) -> float:
    pattern = re.compile(r'^switchboard_http_requests_total\{(?P<labels>(?:\w+="[^"]*",?)*)\} '
                         r'(?P<value>\S+)$', re.MULTILINE)
    for match in pattern.finditer(metrics):
        labels = dict(re.findall(r'(\w+)="([^"]*)"', match["labels"]))
        if labels == {"method": method, "route": route, "status": status}:
            return float(match["value"])
    return 0.0


async def test_metrics_count_requests_by_route_template(client, admin_headers, factory):
    desk = await factory.desk("Metrics")
    before = _requests_total((await client.get("/metrics")).text, "GET", "/v1/desks/{desk_id}",
                             "200")
    for _ in range(2):
        assert (await client.get(f"/v1/desks/{desk.id}", headers=admin_headers)).status_code == 200
    response = await client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    assert "switchboard_http_requests_total" in response.text
    assert "switchboard_http_request_duration_seconds" in response.text
    after = _requests_total(response.text, "GET", "/v1/desks/{desk_id}", "200")
    assert after == before + 2
    assert f'route="/v1/desks/{desk.id}"' not in response.text


async def test_metrics_name_every_path_parameter_by_its_template(client, admin_headers, factory):
    desk = await factory.desk("Members")
    route = "/v1/desks/{desk_id}/members/{user_id}"
    before = _requests_total((await client.get("/metrics")).text, "DELETE", route, "404")
    # The same id in both positions must not confuse the label.
    response = await client.delete(f"/v1/desks/{desk.id}/members/{desk.id}",
                                   headers=admin_headers)
    assert response.status_code == 404
    metrics = (await client.get("/metrics")).text
    assert _requests_total(metrics, "DELETE", route, "404") == before + 1


async def test_metrics_label_unknown_paths_as_unmatched(client):
    before = _requests_total((await client.get("/metrics")).text, "GET", "unmatched", "404")
    await client.get("/no/such/path/123")
    metrics = (await client.get("/metrics")).text
    assert _requests_total(metrics, "GET", "unmatched", "404") == before + 1
    assert 'route="/no/such/path/123"' not in metrics


def test_route_template_names_parameters_in_path_order():
    scope = {"route": object(), "path": "/v1/desks/5/members/5",
             "path_params": {"desk_id": 5, "user_id": 5}}
    assert _route_template(scope) == "/v1/desks/{desk_id}/members/{user_id}"
    assert _route_template({"path": "/v1/desks/5", "path_params": {}}) == "unmatched"


async def test_metrics_need_the_metrics_token_when_one_is_set(app, client, problem):
    app.state.settings = app.state.settings.model_copy(update={"metrics_token": "scrape-me"})
    problem(await client.get("/metrics"), 401)
    problem(await client.get("/metrics", headers={"Authorization": "Bearer wrong"}), 401)
    allowed = await client.get("/metrics", headers={"Authorization": "Bearer scrape-me"})
    assert allowed.status_code == 200 and "http_requests_total" in allowed.text
