"""The committed OpenAPI document is valid and tells the truth about errors."""

from __future__ import annotations

import json
import re
from pathlib import Path

from jsonschema import Draft202012Validator
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


def _operations(spec: dict):
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            yield method, path, operation


def test_every_operation_has_a_stable_unique_id_a_summary_and_a_description():
    spec = _generated()
    ids = [op["operationId"] for _, _, op in _operations(spec)]
    assert len(ids) == len(set(ids)), sorted(i for i in ids if ids.count(i) > 1)
    for method, path, operation in _operations(spec):
        prefix, _, name = operation["operationId"].partition(".")
        assert prefix == re.sub(r"[^a-z0-9]+", "_", operation["tags"][0]), (method, path)
        assert re.fullmatch(r"[a-z0-9_]+", name), (method, path)
        assert operation.get("summary", "").strip(), (method, path)
        assert operation.get("description", "").strip(), (method, path)
    assert spec["paths"]["/v1/tickets"]["post"]["operationId"] == "tickets.create_ticket"


def test_every_tag_used_is_described_and_the_document_names_servers_and_contact():
    spec = _generated()
    described = {t["name"]: t.get("description", "") for t in spec["tags"]}
    used = {tag for _, _, op in _operations(spec) for tag in op["tags"]}
    assert used <= set(described), used - set(described)
    assert all(described[t].strip() for t in used)
    assert spec["servers"] and all(s["url"] for s in spec["servers"])
    assert spec["info"]["contact"]["name"]


def test_operation_descriptions_name_the_scope_needed():
    spec = _generated()
    assert "`tickets:write`" in spec["paths"]["/v1/tickets"]["post"]["description"]
    assert "no credential" in spec["paths"]["/v1/auth/token"]["post"]["description"]


def _errors(operation: dict) -> set[int]:
    return {int(s) for s in operation["responses"] if s.startswith(("4", "5"))}


def test_errors_are_documented_per_operation_only_where_they_can_happen():
    spec = _generated()
    paths = spec["paths"]
    assert _errors(paths["/healthz"]["get"]) == set()
    assert _errors(paths["/v1/me"]["get"]) == {401, 429}
    assert _errors(paths["/v1/tickets"]["get"]) == {400, 401, 403, 404, 422, 429}
    assert _errors(paths["/v1/tickets/{ticket_id}"]["patch"]) == {
        400, 401, 403, 404, 409, 412, 413, 415, 422, 429}
    assert _errors(paths["/v1/auth/token"]["post"]) == {401, 413, 422, 429}
    for method, path, operation in _operations(spec):
        errors = _errors(operation)
        where = (method, path, sorted(errors))
        if "requestBody" not in operation:
            assert not errors & {413, 415}, where
        cursor = any(p.get("name") == "cursor" for p in operation.get("parameters", []))
        if "requestBody" not in operation and not cursor:
            assert 400 not in errors, where
        if method == "get":
            assert not errors & {409, 412, 413}, where
        if operation.get("security"):
            assert {401, 429} <= errors, where
        if "{" in path:
            assert {404, 422} <= errors, where
        if not any(p.get("name") == "If-Match" for p in operation.get("parameters", [])):
            assert 412 not in errors, where
    assert "HTTPValidationError" not in spec["components"]["schemas"]


def test_every_schema_has_an_example_that_it_accepts():
    spec = _generated()
    wrong = {}
    for name, schema in spec["components"]["schemas"].items():
        assert schema.get("examples"), name
        validator = Draft202012Validator({"$ref": f"#/components/schemas/{name}",
                                          "components": spec["components"]})
        for example in schema["examples"]:
            errors = [e.message for e in validator.iter_errors(example)]
            if errors:
                wrong[name] = errors[:3]
    assert not wrong, wrong


def test_every_json_request_body_shows_an_example():
    for method, path, operation in _operations(_generated()):
        content = operation.get("requestBody", {}).get("content", {})
        if "application/json" in content:
            media = content["application/json"]
            assert "example" in media or "example" in media["schema"], (method, path)


def test_no_two_schemas_share_a_title():
    titles: dict[str, list[str]] = {}
    for name, schema in _generated()["components"]["schemas"].items():
        titles.setdefault(schema.get("title", name), []).append(name)
    assert not {t: names for t, names in titles.items() if len(names) > 1}


def test_request_schemas_state_defaults_in_words_so_generators_keep_fields_optional():
    spec = _generated()
    ticket_create = spec["components"]["schemas"]["TicketCreate"]["properties"]
    assert "default" not in ticket_create["status"]
    assert "Default: `\"new\"`." in ticket_create["status"]["description"]
    for name in ("ApiTokenCreate", "UserCreate", "WebhookCreate", "FormCreate", "RuleCreate"):
        properties = spec["components"]["schemas"][name]["properties"]
        assert not [p for p, v in properties.items() if "default" in v], name


def _enum_of(node: dict, schemas: dict) -> list | None:
    if "$ref" in node:
        return _enum_of(schemas[node["$ref"].rpartition("/")[2]], schemas)
    if "items" in node:
        return _enum_of(node["items"], schemas)
    return node.get("enum")


def test_response_fields_keep_the_enums_their_requests_have():
    schemas = _generated()["components"]["schemas"]
    for schema, field in [("TicketRead", "source"), ("RoutedTicket", "source"),
                          ("EventRead", "type"), ("WebhookRead", "events"),
                          ("WebhookCreated", "events"), ("ApiTokenRead", "scopes"),
                          ("ApiTokenCreated", "scopes"), ("MeRead", "scopes"),
                          ("ViewRead", "columns")]:
        assert _enum_of(schemas[schema]["properties"][field], schemas), (schema, field)
