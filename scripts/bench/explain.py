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

from scripts.bench.common import log
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncSession


class Capture:
    """Records every statement an engine sends, with its parameters and duration."""

    def __init__(self, engine: Any) -> None:
        self.engine = engine
        self.statements: list[dict[str, Any]] = []
        self.enabled = True
        event.listen(engine.sync_engine, "before_cursor_execute", self._before)
        event.listen(engine.sync_engine, "after_cursor_execute", self._after)

    def _before(self, conn, cursor, statement, parameters, context, executemany) -> None:
        if self.enabled:
            conn.info["bench_started"] = time.perf_counter()

    def _after(self, conn, cursor, statement, parameters, context, executemany) -> None:
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
    """The plan PostgreSQL picks for these parameter values (a custom plan)."""
    conn = await session.connection()
    rows = await conn.exec_driver_sql("EXPLAIN (ANALYZE, BUFFERS) " + statement["sql"],
                                      statement["params"])
    return "\n".join(r[0] for r in rows.all())


def _literal(value: Any) -> str | None:
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return "'" + value.replace("'", "''") + "'"
    return None


async def _explain_generic(session: AsyncSession, statement: dict[str, Any]) -> str | None:
    """The generic plan: what a prepared statement runs from its sixth execution on, which is
    what the app's pooled asyncpg connections (statement cache) mostly run."""
    params = list(statement["params"] or ())
    literals = [_literal(v) for v in params]
    if not params or any(lit is None for lit in literals):
        return None
    conn = await session.connection()
    await conn.exec_driver_sql("SET plan_cache_mode = force_generic_plan")
    await conn.exec_driver_sql("PREPARE bench_generic AS " + statement["sql"])
    try:
        rows = await conn.exec_driver_sql(
            f"EXPLAIN (ANALYZE, BUFFERS) EXECUTE bench_generic({', '.join(literals)})")  # type: ignore[arg-type]
        return "\n".join(r[0] for r in rows.all())
    finally:
        await conn.exec_driver_sql("DEALLOCATE bench_generic")
        await conn.exec_driver_sql("RESET plan_cache_mode")


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
                                generic = await _explain_generic(session, s)
                                if generic is not None:
                                    s["explain_generic"] = generic
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
                out.append("-- custom plan (these parameter values):")
                out.append(s["explain"])
            if "explain_generic" in s:
                out.append("-- generic plan (a prepared statement from its 6th execution):")
                out.append(s["explain_generic"])
            out.append("")
    return "\n".join(out)
