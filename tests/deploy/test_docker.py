"""The image definition and the compose stack."""

import json
import os
import re
import subprocess
import time
from itertools import pairwise
from pathlib import Path

import pytest
import requests
import yaml
from django.conf import settings

from config.routes import ROUTES
from tests.deploy.tools import ROOT, run_tool
from tests.support.pods import counters, image_environment, image_paths, map_paths, on_path
from tests.support.processes import free_port, start_process, wait_for_port
from tests.support.split import Topology

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


# --- compose, run: Docker Compose's own resolution of the file, each command run here ---------
def compose_config(*profiles: str) -> dict:
    """The compose file as `docker compose config` resolves it (anchors, env_file), without an engine."""
    flags = [arg for profile in profiles for arg in ("--profile", profile)]
    result = run_tool("docker-compose", "-f", "docker/compose.yaml", *flags, "config", "--format", "json")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def image_cmd() -> list[str]:
    instruction = re.search(r"^CMD (.+?)(?<!\\)$", DOCKERFILE.read_text(), flags=re.MULTILINE | re.DOTALL)
    return json.loads(instruction.group(1).replace("\\\n", " "))


@pytest.mark.parametrize("profiles", [(), ("split",)])
def test_docker_compose_accepts_the_file(profiles):
    services = compose_config(*profiles)["services"]
    assert len(services) == (7 if not profiles else 27)


def test_every_gunicorn_of_the_image_and_compose_runs_with_its_config():
    commands = [image_cmd()] + [s["command"] for s in compose_config("split")["services"].values()
                                if s.get("command") and s["command"][0] == "gunicorn"]
    assert len(commands) == 5
    for command in commands:
        assert command[:2] == ["gunicorn", "--config=config/gunicorn.py"]


class ComposeHere:
    """Compose's monolith services run on this machine: the image's paths and environment mapped
    as tests/support/pods.py maps a pod's, the compose network's hosts to this run's services, and
    a published port (`--bind=0.0.0.0:8000`) to a free loopback one."""

    def __init__(self, tmp_path: Path):
        default = settings.DATABASES["default"]
        self.postgres = f"postgres://{default['USER']}@{default['HOST']}:{default['PORT']}"
        prefix = f"compose_{os.environ.get('TEST_DB_SUFFIX', 'x')}"
        self.topology = Topology("monolith", database_prefix=prefix, postgres_url=self.postgres,
                                 redis_url="", secrets={}, log_dir=tmp_path)
        self.hosts = {  # pattern -> here
            r"postgres://shop:shop@postgres:5432/shop_": f"{self.postgres}/{prefix}_",
            r"redis://redis:6379/\d+": "redis://127.0.0.1:6379/9",
            r"kafka:9092": self.topology.kafka.bootstrap_servers,  # a broker of its own
        }
        self.paths = {"/tmp": str(tmp_path), **image_paths(tmp_path)}  # noqa: S108 (the container's /tmp)
        self.services = compose_config()["services"]
        self.tmp_path = tmp_path

    def env(self, service: str) -> dict[str, str]:
        base = {"HOME": str(self.tmp_path), "LANG": "C.UTF-8", "PATH": "/usr/local/bin:/usr/bin:/bin"}
        env = {name: map_paths(value, self.paths) for name, value in image_environment(base).items()}
        for name, value in self.services[service]["environment"].items():
            for pattern, here in self.hosts.items():
                value = re.sub(pattern, here, value)
            env[name] = value
        # Each run its own Redis keys and Celery queue (other runs share this Redis).
        return {**env, "CACHE_KEY_PREFIX": self.topology.database_prefix,
                "CELERY_TASK_DEFAULT_QUEUE": self.topology.database_prefix}

    def command(self, service: str, port: int | None = None) -> list[str]:
        words = self.services[service].get("command") or image_cmd()
        words = [map_paths(word.replace("--bind=0.0.0.0:8000", f"--bind=127.0.0.1:{port}"), self.paths)
                 for word in words]
        return on_path(words, self.env(service))


@pytest.fixture
def compose_here(tmp_path):
    here = ComposeHere(tmp_path)
    here.topology.create_databases(recreate=True)
    here.topology.kafka.start(log_dir=tmp_path)
    yield here
    here.topology.kafka.stop()
    here.topology.drop_databases()


def start_service(here: ComposeHere, service: str, port: int = 0):
    return start_process(f"compose-{service}", here.command(service, port), here.env(service), port,
                         log_dir=here.tmp_path)


def test_compose_migrates_then_the_image_cmd_serves_with_one_set_of_metrics(compose_here):
    migrate = subprocess.run(compose_here.command("migrate"), cwd=ROOT, env=compose_here.env("migrate"),
                             capture_output=True, text=True, timeout=300)
    assert migrate.returncode == 0, migrate.stdout + migrate.stderr
    assert "Applying users.0001_initial... OK" in migrate.stdout

    port = free_port()
    web = start_service(compose_here, "web", port)
    try:
        wait_for_port(port, timeout=60, process=web.process)
        scrapes = []
        for _ in range(6):
            products = requests.get(f"{web.url}/api/v1/products", headers={"Host": "localhost"}, timeout=30)
            assert products.status_code == 200, products.text
            scrapes.append(counters(requests.get(f"{web.url}/metrics", headers={"Host": "10.0.0.7:8000"},
                                                 timeout=30).text))
    finally:
        web.stop()
    # Two workers, one set of samples: a counter never goes backwards from scrape to scrape.
    assert not [(key, earlier[key], later[key]) for earlier, later in pairwise(scrapes)
                for key in earlier if key in later and later[key] < earlier[key]]
    requests_by_view = [value for (name, labels), value in scrapes[-1].items()
                        if name == "django_http_responses_total_by_status_view_method_total"
                        and ("view", "products") in labels]
    assert requests_by_view == [6.0]
    lines = [json.loads(line) for line in web.log().splitlines() if line.strip()]
    assert any(line["logger"] == "shop.request" and line["path"] == "/api/v1/products" for line in lines)


def test_compose_worker_and_beat_run_and_answer_the_charts_liveness_ping(compose_here):
    migrate = subprocess.run(compose_here.command("migrate"), cwd=ROOT, env=compose_here.env("migrate"),
                             capture_output=True, text=True, timeout=300)
    assert migrate.returncode == 0, migrate.stdout + migrate.stderr
    worker, beat = start_service(compose_here, "worker"), start_service(compose_here, "beat")
    env = compose_here.env("worker")
    ping = on_path(["celery", "--app=config", "inspect", "ping", "--timeout=5"], env)
    try:
        deadline = time.monotonic() + 90
        while subprocess.run(ping, cwd=ROOT, env=env, capture_output=True, timeout=60).returncode:
            assert worker.process.poll() is None, worker.log()[-3000:]
            assert time.monotonic() < deadline, worker.log()[-3000:]
            time.sleep(1)
        assert beat.process.poll() is None, beat.log()[-3000:]
    finally:
        worker.stop()
        beat.stop()
    assert "beat: Starting" in beat.log()
