"""The served OpenAPI document is as good as the API: Spectral's `spectral:oas` rules find nothing,
and error bodies are declared as the server sends them."""

import json
import subprocess

import pytest
from django.test import Client

from tests.support.processes import REPO_ROOT

SPECTRAL = REPO_ROOT / "requirements" / "spectral" / "node_modules" / ".bin" / "spectral"
RULESET = REPO_ROOT / "requirements" / "spectral" / ".spectral.yaml"


@pytest.fixture(scope="module")
def schema():
    response = Client().get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    return response.json()


def test_spectral_finds_no_error_and_no_warning(schema, tmp_path):
    assert SPECTRAL.exists(), "run `make spectral` (make test does)"
    document = tmp_path / "openapi.json"
    document.write_text(json.dumps(schema))
    result = subprocess.run(
        [str(SPECTRAL), "lint", "--ruleset", str(RULESET), "--format", "json", "--quiet", str(document)],
        capture_output=True, text=True, timeout=120,
    )
    findings = json.loads(result.stdout or "[]")
    assert [(f["code"], ".".join(map(str, f["path"]))) for f in findings] == []
    assert result.returncode == 0, result.stderr


def test_every_error_is_a_problem_document(schema):
    errors = [(path, method, status, response)
              for path, operations in schema["paths"].items()
              for method, operation in operations.items()
              for status, response in operation["responses"].items() if int(status) >= 400]
    assert len(errors) > 100
    for path, method, status, response in errors:
        assert response["content"] == {
            "application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}
        }, (path, method, status)


def test_every_operation_may_be_rate_limited_or_unavailable(schema):
    for operations in schema["paths"].values():
        for operation in operations.values():
            assert "`rate_limited`" in operation["responses"]["429"]["description"]
            assert "`service_unavailable`" in operation["responses"]["503"]["description"]


def test_nested_field_errors_are_described_as_the_server_sends_them(schema):
    """A basket item's errors come back as {"items": [{"1": [{"quantity": [...]}]}]}."""
    field_errors = schema["components"]["schemas"]["FieldErrors"]
    entry = field_errors["additionalProperties"]["items"]["oneOf"]
    assert {"type": "string"} in entry and {"$ref": "#/components/schemas/FieldErrors"} in entry
    assert schema["components"]["schemas"]["Problem"]["properties"]["errors"] == {
        "$ref": "#/components/schemas/FieldErrors"}


def test_tags_servers_and_contact(schema):
    operations = [op for path in schema["paths"].values() for op in path.values()]
    used = {tag for op in operations for tag in op["tags"]}
    assert {tag["name"] for tag in schema["tags"]} == used
    assert all(tag["description"] for tag in schema["tags"])
    assert [server["url"] for server in schema["servers"]] == ["http://testserver"]
    assert schema["info"]["contact"]["name"]
    assert all(op.get("description") and op.get("summary") for op in operations)
