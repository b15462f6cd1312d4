"""The `switchboard` command."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import sys
from pathlib import Path
from typing import Annotated

import typer

from app.core.config import Environment, Settings, get_settings

cli = typer.Typer(help="Switchboard: an API-first ticketing backend.", no_args_is_help=True,
                  add_completion=False)


def _settings() -> Settings:
    get_settings.cache_clear()
    return get_settings()


@cli.command()
def migrate() -> None:
    """Upgrade the database named by DATABASE_URL to the newest schema."""
    from app.core.migrate import upgrade

    upgrade(_settings().require_database_url())
    typer.echo("database is at the newest revision")


@cli.command()
def serve(host: Annotated[str, typer.Option()] = "127.0.0.1",
          port: Annotated[int, typer.Option()] = 8000,
          workers: Annotated[int, typer.Option(help="Worker processes.")] = 1) -> None:
    """Serve the HTTP API."""
    import uvicorn

    settings = _settings()
    settings.require_database_url()
    uvicorn.run("app.main:app_factory", factory=True, host=host, port=port, workers=workers,
                proxy_headers=True, log_config=None)


@cli.command()
def worker() -> None:
    """Run the arq worker (routing, webhooks, sweeps)."""
    from app.core.logging import configure_logging
    from app.worker import build_worker

    settings = _settings()
    configure_logging(settings.log_level)
    settings.require_database_url()
    build_worker(settings).run()


@cli.command("create-admin")
def create_admin(email: str,
                 name: Annotated[str | None, typer.Option(help="Display name.")] = None) -> None:
    """Find or create an admin user; print a new admin API token as the last line."""
    from app.auth.service import create_admin as create
    from app.core.db import create_engine, create_sessionmaker

    async def run() -> str:
        engine = create_engine(_settings().require_database_url(), pool_size=1)
        try:
            async with create_sessionmaker(engine)() as session:
                user, token = await create(session, email, name=name)
                await session.commit()
                typer.echo(f"admin user {user.email} (id {user.id}); new admin API token:")
                return token
        finally:
            await engine.dispose()

    typer.echo(asyncio.run(run()))


@cli.command()
def openapi(output: Annotated[Path, typer.Option(help="Where to write it.")] = Path(
        "openapi/openapi.json")) -> None:
    """Write the OpenAPI document of the app."""
    from app.main import create_app

    os.environ.setdefault("ENVIRONMENT", Environment.development.value)
    document = create_app(_settings(), manage_resources=False).openapi()
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n")
    typer.echo(f"wrote {output}")


@cli.command()
def dev(host: Annotated[str, typer.Option()] = "127.0.0.1",
        port: Annotated[int, typer.Option()] = 8000) -> None:
    """Everything in one process: embedded PostgreSQL/Redis (unless URLs are set), API + worker."""
    from app.devserver import run_dev

    os.environ.setdefault("ENVIRONMENT", Environment.development.value)
    sys.exit(run_dev(host, port))


def main() -> None:
    with contextlib.suppress(KeyboardInterrupt):
        cli()


if __name__ == "__main__":
    main()
