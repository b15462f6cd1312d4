"""The committed OpenAPI document is valid and tells the truth about errors."""

from __future__ import annotations

import json
from pathlib import Path

from openapi_spec_validator import validate

from app.core.config import Settings
from app.main import create_app

SPEC = Path(__file__).resolve().parents[1] / "openapi" / "openapi.json"


def _generated() -> dict:
    settings = Settings(environment="test", secret_key="x" * 40)
    return create_app(settings, manage_resources=False).openapi()


def test_committed_spec_is_valid_openapi():
    validate(json.loads(SPEC.read_text()))


def test_committed_spec_matches_the_app():
    assert json.loads(SPEC.read_text()) == _generated(), "run `switchboard openapi` and commit"


def test_every_error_response_is_documented_as_problem_json():
    spec = _generated()
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            for status, response in operation["responses"].items():
                if status.startswith(("4", "5")):
                    content = response.get("content", {})
                    assert list(content) == ["application/problem+json"], (method, path, status)


def test_authenticated_operations_declare_bearer_security():
    spec = _generated()
    public = {"/v1/auth/token", "/healthz", "/readyz", "/metrics"}
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            secured = bool(operation.get("security"))
            anonymous = path in public or path.startswith("/v1/public/")
            assert secured != anonymous, (method, path)
