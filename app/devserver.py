"""`switchboard dev`: a complete Switchboard in one process, on a machine with nothing else."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
from typing import Any

import typer
import uvicorn
from sqlalchemy import func, select

from app.core import embedded
from app.core.config import Settings, get_settings
from app.core.db import create_engine, create_sessionmaker
from app.core.logging import configure_logging
from app.core.migrate import upgrade
from app.core.security import hash_token

DEMO_ADMIN_EMAIL = "admin@switchboard.localhost"


async def seed(settings: Settings) -> str:
    """Create an admin and a demo desk on an empty database; return a working admin token.

    The dev token is kept in DATA_DIR so that each restart prints one that still works.
    """
    from app.auth.service import create_admin
    from app.models import ApiToken, Desk, User

    token_file = settings.data_dir / "admin_token"
    engine = create_engine(settings.require_database_url(), pool_size=1)
    try:
        async with create_sessionmaker(engine)() as session:
            if not await session.scalar(select(func.count()).select_from(User)):
                demo = Desk(name="Demo desk", kind="standard",
                            description="Created by `switchboard dev`.")
                session.add_all([demo, Desk(name="Partner sandbox", kind="sandbox")])
                await session.flush()
                await _seed_demo(session, settings, demo.id)
            if token_file.exists():
                secret = token_file.read_text().strip()
                known = await session.scalar(select(ApiToken).where(
                    ApiToken.token_hash == hash_token(secret), ApiToken.revoked_at.is_(None)))
                if known is not None:
                    await session.commit()
                    return secret
            _, secret = await create_admin(session, DEMO_ADMIN_EMAIL, name="Admin")
            await session.commit()
    finally:
        await engine.dispose()
    token_file.parent.mkdir(parents=True, exist_ok=True)
    token_file.write_text(secret)
    token_file.chmod(0o600)
    return secret


async def _seed_demo(session: Any, settings: Settings, desk_id: int) -> None:
    """A published contact form (`/v1/public/forms/contact`) and a routing rule in the demo desk,
    made through the services as the system would."""
    from app.core.scope import DeskScope, Principal, Scope, SubjectKind
    from app.forms import service as forms
    from app.forms.schemas import FormCreate
    from app.routing import service as rules
    from app.routing.schemas import RuleCreate

    system = DeskScope(Principal(SubjectKind.api_token, 0, "switchboard dev"),
                       frozenset({Scope.admin.value}), None)
    await forms.create(session, system, FormCreate.model_validate({
        "desk_id": desk_id, "name": "Contact us", "slug": "contact", "published": True,
        "fields": [
            {"key": "email", "label": "Your email", "type": "email", "required": True,
             "maps_to": "requester.email"},
            {"key": "name", "label": "Your name", "type": "text", "maps_to": "requester.name"},
            {"key": "subject", "label": "Subject", "type": "text", "required": True,
             "max_length": 200, "maps_to": "subject"},
            {"key": "message", "label": "How can we help?", "type": "textarea",
             "required": True, "maps_to": "description"},
        ]}), honeypot=settings.form_honeypot_field)
    await rules.create(session, system, RuleCreate.model_validate({
        "desk_id": desk_id, "name": "Urgent words raise the priority",
        "conditions": {"any": [{"field": "subject", "op": "contains", "value": "urgent"},
                               {"field": "subject", "op": "contains", "value": "outage"}]},
        "actions": [{"type": "set_priority", "value": "urgent"},
                    {"type": "add_tags", "value": ["urgent"]}]}))


async def serve_all(settings: Settings, host: str, port: int) -> None:
    from app.main import create_app
    from app.worker import build_worker

    server = uvicorn.Server(uvicorn.Config(create_app(settings), host=host, port=port,
                                           log_config=None, proxy_headers=False))
    worker = build_worker(settings, handle_signals=False)

    def stop(signum: int, frame: object) -> None:
        server.should_exit = True

    # uvicorn handles Ctrl-C/SIGTERM while it serves and re-raises the signal when done; these
    # handlers receive that re-raise, so shutdown goes on below instead of killing the process.
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, stop)
    worker_task = asyncio.create_task(worker.async_run())
    try:
        await server.serve()  # returns on Ctrl-C / SIGTERM
    finally:
        worker_task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await worker_task
        await worker.close()


def run_dev(host: str, port: int) -> int:
    services = None
    if not os.environ.get("DATABASE_URL") or not os.environ.get("REDIS_URL"):
        data_dir = Settings(environment="development").data_dir
        typer.echo(f"starting embedded servers under {data_dir}/ …")
        services = embedded.start(data_dir, postgres=not os.environ.get("DATABASE_URL"),
                                  redis=not os.environ.get("REDIS_URL"))
        if services.database_url:
            os.environ["DATABASE_URL"] = services.database_url
        if services.redis_url:
            os.environ["REDIS_URL"] = services.redis_url
    try:
        get_settings.cache_clear()
        settings = get_settings()
        configure_logging(settings.log_level)
        upgrade(settings.require_database_url())
        token = asyncio.run(seed(settings))
        typer.echo("")
        typer.echo(f"  Switchboard is running:  http://{host}:{port}/docs")
        typer.echo(f"  admin API token:         {token}")
        typer.echo(f"  try: curl -H 'Authorization: Bearer {token}' http://{host}:{port}/v1/me")
        typer.echo("  stop with Ctrl-C")
        typer.echo("")
        with contextlib.suppress(KeyboardInterrupt):
            asyncio.run(serve_all(settings, host, port))
    finally:
        if services is not None:
            services.stop()
    return 0
