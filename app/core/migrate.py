"""Run Alembic from code (the CLI, `switchboard dev`, the test suite)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config

PROJECT_ROOT = Path(__file__).resolve().parents[2]


def alembic_config(database_url: str) -> Config:
    ini = Path.cwd() / "alembic.ini"
    if not ini.exists():
        ini = PROJECT_ROOT / "alembic.ini"
    config = Config(str(ini))
    config.attributes["database_url"] = database_url
    config.attributes["configure_logging"] = False
    return config


def upgrade(database_url: str, revision: str = "head") -> None:
    """Must run outside an event loop (Alembic's env starts its own)."""
    command.upgrade(alembic_config(database_url), revision)
