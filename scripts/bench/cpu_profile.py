"""CPU per request, measured in-process: the API app and the minimal app behind
`httpx.ASGITransport`, one request at a time, under cProfile.

On a shared or saturated machine, requests/s mostly tells who got the CPU; CPU milliseconds per
request tell what a request costs, and the profile tells where it goes. (The in-process client's
own cost is included on both sides, so compare the two, not the absolute figures.)
"""

from __future__ import annotations

import cProfile
import io
import pstats
import random
import time
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
from scripts.bench.common import REPO_ROOT, log
from scripts.bench.seed import VOCABULARY

TOP = 30


def _words(rng: random.Random, low: int, high: int) -> str:
    return " ".join(rng.choices(VOCABULARY, k=rng.randint(low, high)))


async def _measure(name: str, call: Callable[[int], Awaitable[httpx.Response]], n: int,
                   expect: int, texts: dict[str, str]) -> dict[str, Any]:
    for i in range(5):  # warm: connections, caches, first-request imports
        await call(-i - 1)
    statuses: dict[int, int] = {}
    cpu, wall = time.process_time(), time.perf_counter()
    for i in range(n):  # measured without the profiler, which inflates CPU time
        response = await call(i)
        statuses[response.status_code] = statuses.get(response.status_code, 0) + 1
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    profiler = cProfile.Profile()
    profiler.enable()
    for i in range(n, 2 * n):
        await call(i)
    profiler.disable()
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out)
    out.write("Coroutines count one call per resumption; times exclude awaiting.\n")
    stats.sort_stats("tottime").print_stats(TOP)
    out.write("The app's own functions, by cumulative time:\n")
    stats.sort_stats("cumulative").print_stats(str(REPO_ROOT / "app") + "/", TOP)
    texts[name] = out.getvalue()
    result = {"requests": n, "cpu_ms_per_request": round(cpu / n * 1000, 2),
              "wall_ms_per_request": round(wall / n * 1000, 2),
              "statuses": {str(k): v for k, v in statuses.items()}}
    if set(statuses) != {expect}:
        result["error"] = f"expected {expect} every time, got {statuses}"
    log(f"  profiled {name}: {result['cpu_ms_per_request']} ms CPU/request, "
        f"{result['wall_ms_per_request']} ms wall/request")
    return result


async def run(database_url: str, redis_url: str, token: str, desk_ids: list[int],
              words: dict[str, str], n: int, secret_key: str) -> tuple[dict[str, Any], str]:
    """Returns (figures per probe, the profiles as text)."""
    import os

    from app.core.config import Settings
    from app.main import create_app

    rng = random.Random(3)
    texts: dict[str, str] = {}
    report: dict[str, Any] = {}
    settings = Settings(database_url=database_url, redis_url=redis_url, secret_key=secret_key,
                        environment="production", rate_limit_per_minute=1_000_000_000,
                        log_level="WARNING", redis_namespace="bench")
    app = create_app(settings)
    headers = {"Authorization": f"Bearer {token}"}
    stamp = time.time_ns() % 10**9

    def body(i: int) -> dict[str, Any]:
        return {"desk_id": desk_ids[i % len(desk_ids)], "subject": _words(rng, 4, 8),
                "description": _words(rng, 15, 45),
                "requester": {"email": f"profile-{stamp}-{i}@example.com", "name": "Profile"}}

    async def guarded(name: str, coro: Awaitable[dict[str, Any]]) -> None:
        try:
            report[name] = await coro
        except Exception as exc:
            report[name] = {"error": f"{type(exc).__name__}: {exc}"}
            log(f"  profiled {name}: n/a ({report[name]['error'][:200]})")

    async with app.router.lifespan_context(app), httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://bench",
            headers=headers) as client:
        await guarded("api_create", _measure(
            "api_create", lambda i: client.post("/v1/tickets", json=body(i)), n, 201, texts))
        await guarded("api_list", _measure(
            "api_list", lambda i: client.get("/v1/tickets", params={
                "desk_id": desk_ids[i % len(desk_ids)], "limit": 50}), n, 200, texts))
        for label, word in words.items():
            await guarded(f"api_search_{label}", _measure(
                f"api_search_{label}", lambda i, w=word: client.get("/v1/tickets", params={
                    "desk_id": desk_ids[i % len(desk_ids)], "q": w, "limit": 50}), n, 200, texts))

    from scripts.bench import minimal_app

    previous = os.environ.get("DATABASE_URL")
    os.environ["DATABASE_URL"] = database_url
    try:
        async with minimal_app.app.router.lifespan_context(minimal_app.app), httpx.AsyncClient(
                transport=httpx.ASGITransport(app=minimal_app.app),
                base_url="http://bench") as client:
            await guarded("minimal_create", _measure(
                "minimal_create", lambda i: client.post("/tickets", json=body(i)), n, 201,
                texts))
    finally:
        if previous is None:
            os.environ.pop("DATABASE_URL", None)
        else:
            os.environ["DATABASE_URL"] = previous
    text = "\n".join(f"==== {name} " + "=" * (70 - len(name)) + "\n" + profile
                     for name, profile in texts.items())
    return report, text
