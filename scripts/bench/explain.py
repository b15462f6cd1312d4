"""Evidence for the numbers: the SQL the API itself runs, captured from the app's own query
functions (no HTTP, same code), with `EXPLAIN (ANALYZE, BUFFERS)` of each statement.

Each probe is independent: one that fails (the app changed, an endpoint is missing) is recorded
with its error and the others still run.
"""

from __future__ import annotations

import time
import traceback
from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncSession

from scripts.bench.common import log


class Capture:
    """Records every statement an engine sends, with its parameters and duration."""

    def __init__(self, engine: Any) -> None:
        self.engine = engine
        self.statements: list[dict[str, Any]] = []
        self.enabled = True
        event.listen(engine.sync_engine, "before_cursor_execute", self._before)
        event.listen(engine.sync_engine, "after_cursor_execute", self._after)

    def _before(self, conn, cursor, statement, parameters, context, executemany) -> None:  # noqa: ANN001
        if self.enabled:
            conn.info["bench_started"] = time.perf_counter()

    def _after(self, conn, cursor, statement, parameters, context, executemany) -> None:  # noqa: ANN001
        if self.enabled:
            elapsed = time.perf_counter() - conn.info.pop("bench_started", time.perf_counter())
            self.statements.append({"sql": statement, "params": parameters,
                                    "ms": round(elapsed * 1000, 2)})

    def take(self) -> list[dict[str, Any]]:
        taken, self.statements = self.statements, []
        return taken


def _admin_scope() -> Any:
    from app.core.scope import DeskScope, Principal, Scope

    return DeskScope(Principal("system", 0, "bench"), frozenset({Scope.admin.value}), None)


async def _explain(session: AsyncSession, statement: dict[str, Any]) -> str:
    result = await session.connection()
    rows = await result.exec_driver_sql("EXPLAIN (ANALYZE, BUFFERS) " + statement["sql"],
                                        statement["params"])
    return "\n".join(r[0] for r in rows.all())


async def probe(sqlalchemy_url: str, desk_id: int, words: dict[str, str]) -> dict[str, Any]:
    """Run the app's list, search and export queries once each (and one create, rolled back);
    explain every SELECT on tickets they send."""
    from app.core.db import create_engine, create_sessionmaker

    engine = create_engine(sqlalchemy_url, pool_size=2)
    capture = Capture(engine)
    sessionmaker = create_sessionmaker(engine)
    scope = _admin_scope()
    report: dict[str, Any] = {}

    async def run(name: str, call: Callable[[AsyncSession], Awaitable[Any]],
                  explain: bool = True) -> None:
        try:
            async with sessionmaker() as session:
                capture.take()
                await call(session)
                statements = capture.take()
                capture.enabled = False
                try:
                    if explain:
                        for s in statements:
                            if s["sql"].lstrip().upper().startswith("SELECT") and \
                                    "tickets" in s["sql"]:
                                s["explain"] = await _explain(session, s)
                finally:
                    capture.enabled = True
                    await session.rollback()
            report[name] = {"statements": statements}
        except Exception as exc:
            report[name] = {"error": f"{type(exc).__name__}: {exc}",
                            "traceback": traceback.format_exc(limit=3)}
        log(f"  explained {name}: "
            + (report[name].get("error") or f"{len(report[name]['statements'])} statements"))

    try:
        from app.core.pagination import PageParams
        from app.tickets import query
        from app.tickets.query import DEFAULT_EXPORT_COLUMNS, TicketFilters

        async def list_page(session: AsyncSession, **filters: Any) -> None:
            await query.list_tickets(session, scope, TicketFilters(desk_id=desk_id, **filters),
                                     None, PageParams(limit=50, cursor=None))

        await run("list", lambda s: list_page(s))
        for label, word in words.items():
            await run(f"search_{label}", lambda s, w=word: list_page(s, q=w))

        async def export(_: AsyncSession) -> None:
            rows = query.export_csv(sessionmaker, scope, TicketFilters(desk_id=desk_id), None,
                                    list(DEFAULT_EXPORT_COLUMNS))
            async for _chunk in rows:
                break
            await rows.aclose()

        await run("export", export)

        async def create(session: AsyncSession) -> None:
            from app.tickets import service
            from app.tickets.schemas import TicketCreate

            await service.create(session, scope, TicketCreate.model_validate({
                "desk_id": desk_id, "subject": "Printer offline again",
                "description": "The printer in the office is offline since yesterday.",
                "requester": {"email": f"explain-{time.time_ns()}@example.com",
                              "name": "Explain"}}))
            await session.flush()

        await run("create", create, explain=False)
    except Exception as exc:
        report["error"] = f"{type(exc).__name__}: {exc}"
    finally:
        await engine.dispose()
    return report


def render(report: dict[str, Any]) -> str:
    """A readable text file: per probe, each statement, its client-side time and its plan."""
    out: list[str] = []
    for name, probe_report in report.items():
        out.append(f"==== {name} " + "=" * (70 - len(name)))
        if not isinstance(probe_report, dict) or "error" in probe_report:
            out.append(str(probe_report.get("error") if isinstance(probe_report, dict)
                           else probe_report))
            continue
        for i, s in enumerate(probe_report["statements"], 1):
            out.append(f"-- [{i}] {s['ms']} ms  params={s['params']!r}"[:400])
            out.append(s["sql"])
            if "explain" in s:
                out.append(s["explain"])
            out.append("")
    return "\n".join(out)
