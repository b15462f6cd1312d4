"""`/docs` and `/redoc` work offline: every asset they load is served by the app itself."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import httpx
import pytest

from app.core.config import Settings
from app.main import create_app

CONTENT_TYPES = {".js": "javascript", ".css": "text/css", ".png": "image/png"}


@pytest.fixture
async def client():
    app = create_app(Settings(environment="test", secret_key="x" * 40), manage_resources=False)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                 base_url="http://testserver") as client:
        yield client


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
async def test_docs_pages_load_only_same_origin_assets(client, page):
    response = await client.get(page)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    urls = re.findall(r"""(?:src|href)\s*=\s*["']([^"']+)["']|url:\s*'([^']+)'""", response.text)
    urls = [a or b for a, b in urls]
    assert urls, response.text
    for url in urls:
        parts = urlsplit(url)
        assert not parts.scheme and not parts.netloc, f"{page} loads {url} from another origin"
    assets = [u for u in urls if urlsplit(u).path.endswith(tuple(CONTENT_TYPES))]
    assert any(u.endswith(".js") for u in assets), urls
    for url in assets:
        asset = await client.get(url)
        assert asset.status_code == 200, url
        suffix = url[url.rindex("."):]
        assert CONTENT_TYPES[suffix] in asset.headers["content-type"], (url, asset.headers)
        assert len(asset.content) > 0
    assert "cdn.jsdelivr.net" not in response.text and "fonts.googleapis" not in response.text
