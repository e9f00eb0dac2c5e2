"""The image definition and the compose stack."""

import re

import yaml

from config.routes import ROUTES
from tests.deploy.tools import ROOT, run_tool

DOCKERFILE = ROOT / "docker" / "Dockerfile"


def test_dockerfile_passes_hadolint():
    result = run_tool("hadolint", str(DOCKERFILE))
    assert result.returncode == 0, result.stdout + result.stderr


def test_runtime_stage_runs_as_non_root_with_a_healthcheck_and_no_build_tools():
    stages = re.split(r"^FROM ", DOCKERFILE.read_text(), flags=re.MULTILINE)[1:]
    assert len(stages) == 2
    runtime = stages[-1]
    assert runtime.startswith("${PYTHON_IMAGE} AS runtime")
    assert re.search(r"^USER 10001:10001$", runtime, flags=re.MULTILINE)
    assert re.search(r"^HEALTHCHECK .*docker/healthcheck.py", runtime, flags=re.MULTILINE)
    assert not re.search(r"apt-get|gcc|build-essential|pip install", runtime)
    assert "pip uninstall --yes pip" in stages[0]  # the copied virtualenv carries no installer


def compose_services():
    return yaml.safe_load((ROOT / "docker" / "compose.yaml").read_text())["services"]


def test_compose_runs_the_monolith_on_postgres_redis_and_kafka():
    services = compose_services()
    default = {name for name, service in services.items() if "profiles" not in service}
    assert default == {"postgres", "redis", "kafka", "migrate", "web", "worker", "beat"}
    web = services["web"]
    assert "SERVICE_APPS" not in web["environment"]  # default: every app
    assert web["environment"]["KAFKA_BOOTSTRAP_SERVERS"] == "kafka:9092"
    assert web["depends_on"]["migrate"] == {"condition": "service_completed_successfully"}


def test_compose_split_profile_runs_every_role_of_every_app_with_its_service_apps():
    services = compose_services()
    split = {name: s for name, s in services.items() if s.get("profiles") == ["split"]}
    for app in ROUTES:
        for role in ("", "-migrate", "-grpc", "-worker", "-beat"):
            assert split.pop(f"{app}{role}")["environment"]["SERVICE_APPS"] == app
    assert split == {}
    databases = (ROOT / "docker" / "postgres-init.sql").read_text()
    for service in services.values():
        for name, value in service.get("environment", {}).items():
            if name.startswith("DATABASE_URL"):
                assert f"CREATE DATABASE {value.rsplit('/', 1)[1]};" in databases
