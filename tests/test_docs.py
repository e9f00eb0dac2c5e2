"""The documentation stays true: the README's size and its tour (run as written against a server
started as `make run` starts it), links that resolve inside the repository, and docs/api.md
naming exactly the operations and error codes of the served OpenAPI document."""

import json
import os
import re
import shlex
import shutil
import subprocess
import time
from pathlib import Path

import pytest
import requests

from tests.support.processes import REPO_ROOT, free_port

README = REPO_ROOT / "README.md"
DOCS = sorted((REPO_ROOT / "docs").rglob("*.md"))
API_DOC = REPO_ROOT / "docs" / "api.md"
LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")
OPERATION = re.compile(r"`(GET|POST|PUT|PATCH|DELETE) (/[^`\s]*)`")
ERROR = re.compile(r"(\d{3}) `([a-z_]+)`")
# Sections of docs/api.md whose tables list REST operations, by path relative to /api/v1.
REST_SECTIONS = ("Users", "Products", "Inventory", "Payments")
# Operational endpoints served outside the OpenAPI document (it describes the API itself).
OUTSIDE_SCHEMA = {"/healthz", "/readyz", "/metrics", "/api/schema/", "/api/docs/", "/api/redoc/"}


def test_readme_is_short():
    assert len(README.read_text().splitlines()) <= 150


# --- links -----------------------------------------------------------------------------------

def _slug(heading: str) -> str:
    """GitHub's anchor for a heading."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower().replace("`", ""))
    return text.replace(" ", "-")


def _anchors(path: Path) -> set[str]:
    text = re.sub(r"```.*?```", "", path.read_text(), flags=re.S)
    return {_slug(line.lstrip("#")) for line in text.splitlines() if line.startswith("#")}


def test_every_link_resolves_inside_the_repository():
    broken, count = [], 0
    for page in (README, *DOCS):
        for link in LINK.findall(re.sub(r"```.*?```", "", page.read_text(), flags=re.S)):
            count += 1
            target, _, anchor = link.partition("#")
            resolved = (page.parent / target).resolve() if target else page
            if "://" in link or link.startswith("mailto:") or not resolved.is_relative_to(REPO_ROOT):
                broken.append(f"{page.name}: {link} leaves the repository")
            elif not resolved.exists():
                broken.append(f"{page.name}: {link} does not exist")
            elif anchor and anchor not in _anchors(resolved):
                broken.append(f"{page.name}: {link} names no heading")
    assert broken == []
    assert count >= 30


# --- docs/api.md against the OpenAPI document ---------------------------------------------------

def _normalized(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "{}", path.split("?")[0])


def _sections(text: str) -> dict[str, str]:
    parts = re.split(r"(?m)^## ", text)[1:]
    return {part.split("\n", 1)[0].strip(): part for part in parts}


def _table_rows(section: str) -> list[list[str]]:
    rows = [line.strip().strip("|").split(" | ") for line in section.splitlines() if line.startswith("| ")]
    return [cells for cells in rows[1:] if not set(cells[0]) <= set("-| ")]  # without the header


@pytest.fixture(scope="module")
def schema():
    from django.test import Client

    response = Client().get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    return response.json()


@pytest.fixture(scope="module")
def documented():
    """(method, normalized path) -> the errors column of its row, for every operation api.md names."""
    operations = {}
    for title, section in _sections(API_DOC.read_text()).items():
        prefix = "/api/v1" if title in REST_SECTIONS else ""
        for cells in _table_rows(section):
            for method, path in OPERATION.findall(cells[0]):
                operations[method.lower(), _normalized(prefix + path)] = cells[-1] if prefix else ""
    return operations


def _schema_operations(schema) -> dict[tuple[str, str], dict]:
    return {(method, _normalized(path)): operation for path, operations in schema["paths"].items()
            for method, operation in operations.items()}


def test_every_documented_operation_is_in_the_schema(schema, documented):
    served = _schema_operations(schema)
    missing = {op for op in documented if op not in served and op[1] not in OUTSIDE_SCHEMA}
    assert not missing, f"docs/api.md names operations the schema lacks: {sorted(missing)}"
    assert len(documented) >= 30


def test_every_schema_operation_is_documented(schema, documented):
    undocumented = set(_schema_operations(schema)) - set(documented)
    assert not undocumented, f"docs/api.md lacks: {sorted(undocumented)}"


def test_documented_errors_are_declared_with_their_code(schema, documented):
    served = _schema_operations(schema)
    checked = 0
    for operation, errors in documented.items():
        for status, code in ERROR.findall(errors):
            response = served[operation]["responses"].get(status)
            assert response is not None, f"{operation}: no {status} in the schema"
            assert f"`{code}`" in response["description"], f"{operation} {status}: `{code}` undeclared"
            checked += 1
    assert checked >= 30


def test_codes_any_endpoint_answers_are_in_the_schema(schema):
    rows = _table_rows(_sections(API_DOC.read_text())["Errors"])
    codes = [code for cells in rows for _, code in ERROR.findall(cells[0])]
    assert "rate_limited" in codes and "service_unavailable" in codes
    text = json.dumps(schema)
    assert [code for code in codes if f"`{code}`" not in text] == []


# --- the README's tour, against `make run`'s server -----------------------------------------------

def _make_run_commands() -> list[str]:
    """The recipe of `make run` without its prerequisite, with the Makefile's variables expanded."""
    makefile = (REPO_ROOT / "Makefile").read_text()
    variables = dict(re.findall(r"(?m)^(\w+) :?= (.*)$", makefile))
    recipe = re.search(r"(?m)^run: .*\n((?:\t.*\n)+)", makefile).group(1)
    commands = [line.strip() for line in recipe.splitlines()]
    for _ in range(3):  # variables refer to variables
        commands = [re.sub(r"\$\((\w+)\)", lambda m: variables[m.group(1)], line) for line in commands]
    return commands


def _tour_script(base_url: str) -> str:
    tour = README.read_text().split("## A five-minute tour", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```sh\n(.*?)```", tour, flags=re.S)
    assert len(blocks) >= 5
    # Any failed request stops the tour, with the problem body on screen.
    return "\n".join(["set -euo pipefail", 'curl() { command curl --fail-with-body "$@"; }', *blocks]) \
        .replace("http://127.0.0.1:8000", base_url)


@pytest.fixture(scope="module")
def make_run_server(tmp_path_factory):
    """The server `make run` starts — its own commands, the embedded defaults (SQLite in a fresh
    directory, nothing else configured) — on a free port."""
    var_dir = tmp_path_factory.mktemp("make-run")
    env = {name: os.environ[name] for name in ("PATH", "HOME", "LANG") if name in os.environ}
    env["VAR_DIR"] = str(var_dir)
    port = free_port()
    *setup, serve = _make_run_commands()
    for command in setup:
        subprocess.run(shlex.split(command), cwd=REPO_ROOT, env=env, check=True, capture_output=True)
    assert "--bind 127.0.0.1:8000" in serve
    log_path = var_dir / "server.log"
    with log_path.open("w") as log:
        server = subprocess.Popen(shlex.split(serve.replace("127.0.0.1:8000", f"127.0.0.1:{port}")),
                                  cwd=REPO_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            assert server.poll() is None, log_path.read_text()[-3000:]
            assert time.monotonic() < deadline, log_path.read_text()[-3000:]
            try:
                if requests.get(f"{url}/healthz", timeout=1).status_code == 200:
                    break
            except requests.RequestException:
                time.sleep(0.1)
        yield url, log_path
    finally:
        server.terminate()
        server.wait(timeout=20)


def test_make_run_says_where_to_go(make_run_server):
    url, log_path = make_run_server
    printed = log_path.read_text()
    for link in ("/api/v1/", "/api/docs/", "/admin/"):
        assert f"{url}{link}" in printed
    assert ".venv/bin/python manage.py createsuperuser" in printed
    index = requests.get(f"{url}/", timeout=5).json()
    assert index["links"]["docs"] == f"{url}/api/docs/"
    assert requests.get(f"{url}/api/v1/", timeout=5).json() == index


def test_the_readme_tour_runs_as_written(make_run_server):
    url, _ = make_run_server
    assert shutil.which("jq"), "the tour needs jq (apt-get install jq)"
    result = subprocess.run(["bash", "-c", _tour_script(url)], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert '"status": "succeeded"' in result.stdout
    first_before, *_, first_after = (int(n) for n in re.findall(r'"available": (\d+)', result.stdout))
    assert first_after == first_before - 2
