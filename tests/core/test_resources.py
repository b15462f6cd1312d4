"""The API process's engine takes its pool from the settings."""

from __future__ import annotations

from app.core.config import Settings
from app.core.resources import Resources


async def test_the_pool_and_its_overflow_come_from_the_settings(settings: Settings) -> None:
    resources = Resources.open(settings.model_copy(update={"db_pool_size": 7,
                                                            "db_max_overflow": 3}))
    try:
        pool = resources.engine.pool
        assert pool.size() == 7
        assert pool._max_overflow == 3  # the pool has no public reader for it
    finally:
        await resources.close()


def test_the_default_pool_serves_twenty_requests_at_once_without_overflow() -> None:
    defaults = Settings.model_fields
    assert defaults["db_pool_size"].default == 20
    assert defaults["db_max_overflow"].default == 10
