"""Run real server processes (HTTP, gRPC, Kafka broker) on free loopback ports for tests."""

import os
import socket
import subprocess
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import grpc
import requests
from grpc_health.v1 import health_pb2, health_pb2_grpc

REPO_ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO_ROOT / "test-artifacts"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_port(port: int, timeout: float = 20.0, process: subprocess.Popen | None = None):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"process exited with {process.returncode} before port {port} opened")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(f"nothing listens on 127.0.0.1:{port} after {timeout}s")


@dataclass
class ServerProcess:
    name: str
    process: subprocess.Popen
    port: int
    log_path: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def address(self) -> str:
        """host:port, as a gRPC target."""
        return f"127.0.0.1:{self.port}"

    def stop(self, timeout: float = 10.0):
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def kill(self):
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


def _layered(env: Mapping[str, str | None]) -> dict[str, str]:
    return {name: value for name, value in {**os.environ, **env}.items() if value is not None}


def start_process(
    name: str, args: list[str], env: Mapping[str, str | None], port: int,
    log_dir: Path = ARTIFACTS, detached: bool = False,
) -> ServerProcess:
    """Start `args` with `env` layered over ours (a None value removes a variable); its output
    goes to `log_dir`/<name>.log.
    A `detached` process gets its own session: it outlives us and our terminal's Ctrl-C."""
    log_dir.mkdir(parents=True, exist_ok=True)
    log_path = log_dir / f"{name}.log"
    log = log_path.open("w")
    process = subprocess.Popen(
        args, cwd=REPO_ROOT, env=_layered(env), stdout=log, stderr=subprocess.STDOUT,
        start_new_session=detached,
    )
    return ServerProcess(name=name, process=process, port=port, log_path=log_path)


def start_http_server(
    name: str, env: Mapping[str, str], timeout: float = 30.0, port: int | None = None,
    workers: int = 1, **spawn,
) -> ServerProcess:
    """Serve the Django app with the production WSGI server (on `port`, else a free one) and wait
    until /healthz answers. `spawn` goes to `start_process` (log_dir, detached)."""
    port = port or free_port()
    args = [
        sys.executable, "-m", "gunicorn", "-c", "config/gunicorn.py", "config.wsgi:application",
        "--bind", f"127.0.0.1:{port}", "--workers", str(workers), "--threads", "8",
        "--worker-class", "gthread", "--timeout", "60", "--graceful-timeout", "5",
    ]
    server = start_process(name, args, env, port, **spawn)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(f"{name} exited early:\n{server.log()[-3000:]}")
        try:
            if requests.get(f"{server.url}/healthz", timeout=1).status_code == 200:
                return server
        except requests.RequestException:
            pass
        time.sleep(0.1)
    server.stop()
    raise TimeoutError(f"{name} did not become healthy:\n{server.log()[-3000:]}")


# A readiness probe's channel: its own subchannel, reconnecting within 100 ms.
PROBE_CHANNEL_OPTIONS = [("grpc.use_local_subchannel_pool", 1), ("grpc.initial_reconnect_backoff_ms", 100),
                         ("grpc.max_reconnect_backoff_ms", 100)]


def start_grpc_server(
    name: str, env: Mapping[str, str], port: int | None = None, timeout: float = 30.0, **spawn,
) -> ServerProcess:
    """Run `manage.py grpcserve` (on `port`, else a free one) and wait until its health service
    answers SERVING. Its metrics exporter gets a free port unless `env` names `METRICS_PORT`;
    `spawn` goes to `start_process` (log_dir, detached)."""
    port = port or free_port()
    env = {"METRICS_PORT": str(free_port()), **env}
    server = start_process(name, [sys.executable, "manage.py", "grpcserve", "--port", str(port)], env, port,
                           **spawn)
    deadline = time.monotonic() + timeout
    # gRPC's default reconnect backoff (1 s, then 1.6 s, ...) would answer a server that listens
    # just after a failed attempt more than a second late: retry as soon as the loop asks.
    with grpc.insecure_channel(server.address, options=PROBE_CHANNEL_OPTIONS) as channel:
        health = health_pb2_grpc.HealthStub(channel)
        while time.monotonic() < deadline:
            if server.process.poll() is not None:
                raise RuntimeError(f"{name} exited early:\n{server.log()[-3000:]}")
            try:
                if health.Check(health_pb2.HealthCheckRequest(), timeout=1).status \
                        == health_pb2.HealthCheckResponse.SERVING:
                    return server
            except grpc.RpcError:
                time.sleep(0.1)
    server.stop()
    raise TimeoutError(f"{name} did not become healthy:\n{server.log()[-3000:]}")


def database_env(apps=None) -> dict[str, str]:
    """Environment that points a child process at this test run's databases and Redis, and
    shares its secrets, so tokens issued on either side verify on the other."""
    from django.conf import settings

    env = {
        "JWT_SIGNING_KEY": settings.JWT_KEYS.signing_pem,
        "SERVICE_AUTH_SECRET": settings.SERVICE_AUTH_SECRET,
        "DJANGO_SECRET_KEY": settings.SECRET_KEY,
    }
    for alias, db in settings.DATABASES.items():
        url = f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}"
        if alias == "default":
            env["DATABASE_URL"] = url
        elif apps is None or alias in apps:
            env[f"DATABASE_URL_{alias.upper()}"] = url
    if settings.REDIS_URL:
        env["REDIS_URL"] = settings.REDIS_URL
    if apps is not None:
        env["SERVICE_APPS"] = ",".join(apps)
    return env


def manage(args: list[str], env: Mapping[str, str], timeout: float = 120) -> subprocess.CompletedProcess:
    """Run `manage.py` in a child process with `env` layered over ours."""
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=REPO_ROOT, env={**os.environ, **env},
        capture_output=True, text=True, timeout=timeout,
    )


def sqlite_env(var_dir: Path, apps=None) -> dict[str, str]:
    """Environment for the zero-setup default: an SQLite file per app under `var_dir`."""
    env = {key: "" for key in os.environ if key.startswith("DATABASE_URL")}
    env.update(VAR_DIR=str(var_dir), REDIS_URL="")
    if apps is not None:
        env["SERVICE_APPS"] = ",".join(apps)
    return env
