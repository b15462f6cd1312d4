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
                  add_completion=False, pretty_exceptions_show_locals=False)


def _settings() -> Settings:
    from pydantic import ValidationError

    get_settings.cache_clear()
    try:
        return get_settings()
    except ValidationError as exc:
        for error in exc.errors():
            typer.echo(f"configuration error: {error['msg'].removeprefix('Value error, ')}",
                       err=True)
        raise typer.Exit(2) from exc


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
    # access_log off: the app writes its own access line (with the request id).
    # proxy_headers off: the app believes forwarding headers from TRUSTED_PROXIES only;
    # uvicorn's own would trust them from 127.0.0.1 (or FORWARDED_ALLOW_IPS) on top.
    uvicorn.run("app.main:app_factory", factory=True, host=host, port=port, workers=workers,
                proxy_headers=False, log_config=None, access_log=False)


@cli.command()
def worker(burst: Annotated[bool, typer.Option(
        help="Exit once the queue is empty (batch runs and tests).")] = False) -> None:
    """Run the arq worker (routing, webhooks, sweeps)."""
    from app.core.logging import configure_logging
    from app.worker import build_worker

    settings = _settings()
    configure_logging(settings.log_level)
    settings.require_database_url()
    build_worker(settings, burst=burst).run()


@cli.command()
def smtp(host: Annotated[str, typer.Option()] = "127.0.0.1",
         port: Annotated[int, typer.Option()] = 8025) -> None:
    """Receive email by SMTP: mail to a desk's inbound addresses becomes tickets and replies."""
    from app.core.logging import configure_logging
    from app.intake.smtp import serve as serve_smtp

    settings = _settings()
    configure_logging(settings.log_level)
    settings.require_database_url()
    asyncio.run(serve_smtp(settings, host, port))


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


@cli.command("import-customers")
def import_customers(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True,
                                         help="CSV: email,name,organization,phone + custom fields")],
    desk: Annotated[int, typer.Option("--desk", help="The desk to import into.")],
    on_existing: Annotated[str, typer.Option(help="error (default) or skip")] = "error",
) -> None:
    """Import customers from a CSV file, all or nothing, with a progress bar."""
    from app.core.db import create_engine, create_sessionmaker
    from app.core.errors import AppError
    from app.core.scope import SystemSubject, desk_scope
    from app.customers.importer import import_csv

    if on_existing not in {"error", "skip"}:
        raise typer.BadParameter("error or skip", param_hint="--on-existing")
    scope = desk_scope(SystemSubject("switchboard import-customers"))

    async def run() -> None:
        engine = create_engine(_settings().require_database_url(), pool_size=1)
        try:
            with typer.progressbar(length=file.stat().st_size, label="importing") as bar:
                async def chunks():
                    with file.open("rb") as handle:
                        while chunk := handle.read(1 << 16):
                            yield chunk

                def progress(parsed_bytes: int) -> None:
                    bar.update(parsed_bytes - bar.pos)

                async with create_sessionmaker(engine)() as session:
                    result = await import_csv(session, scope, desk, chunks(),
                                              on_existing=on_existing, progress=progress)
                    await session.commit()
            typer.echo(f"{result.rows} rows: {result.created} customers created, "
                       f"{result.skipped} skipped, {result.organizations_created} organizations "
                       "created")
        except AppError as exc:
            typer.echo(f"nothing imported: {exc.detail}", err=True)
            for error in (exc.errors or [])[:20]:
                typer.echo(f"  {'.'.join(map(str, error['loc'][1:]))}: {error['msg']}", err=True)
            raise typer.Exit(1) from exc
        finally:
            await engine.dispose()

    asyncio.run(run())


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
