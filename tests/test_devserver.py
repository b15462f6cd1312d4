"""`switchboard dev` seeds an empty database once: an admin token that keeps working across
restarts, the demo desks, a published contact form and a routing rule."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from app.core.config import Settings
from app.devserver import seed
from app.models import ApiToken, Desk, Form, RoutingRule
from tests.conftest import TEST_SECRET

pytestmark = pytest.mark.committing


async def test_dev_seed_makes_the_demo_once_and_keeps_its_token(own_url, own_sessions, tmp_path):
    settings = Settings(environment="development", secret_key=TEST_SECRET, database_url=own_url,
                        data_dir=tmp_path)
    token = await seed(settings)
    assert token.startswith("swb_")
    assert await seed(settings) == token  # a restart prints the same, still valid token

    async with own_sessions() as s:
        assert await s.scalar(select(func.count()).select_from(Desk)) == 2
        assert await s.scalar(select(func.count()).select_from(ApiToken)) == 1
        form = await s.scalar(select(Form))
        assert (form.slug, form.published) == ("contact", True)
        rule = await s.scalar(select(RoutingRule))
        assert rule.desk_id == form.desk_id and rule.enabled
