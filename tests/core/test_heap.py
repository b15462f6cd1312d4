"""The served app and the worker freeze their start-up heap, so full collections skip it."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from app.core.config import Settings
from app.core.heap import freeze_startup_heap
from app.main import create_app
from app.worker import shutdown, worker_options


@pytest.fixture
def unfrozen() -> Iterator[None]:
    gc.unfreeze()
    assert gc.get_freeze_count() == 0
    yield
    gc.unfreeze()


def test_freeze_moves_the_live_heap_out_of_the_collector(unfrozen: None) -> None:
    before = len(gc.get_objects())
    frozen = freeze_startup_heap()
    assert frozen == gc.get_freeze_count() > 0
    # What was frozen is no longer in any generation a collection walks.
    assert len(gc.get_objects()) < before - frozen // 2


async def test_the_served_app_freezes_once_its_resources_are_open(
        settings: Settings, unfrozen: None) -> None:
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        assert app.state.sessionmaker is not None
        assert gc.get_freeze_count() > 0


async def test_the_worker_freezes_at_start_up(settings: Settings, unfrozen: None) -> None:
    ctx: dict = {}
    await worker_options(settings)["on_startup"](ctx)
    try:
        assert gc.get_freeze_count() > 0
    finally:
        await shutdown(ctx)
