"""The whole product on one machine, as the monolith or as the four split services behind nginx.

One description of the processes, their environment and their databases, used by the
end-to-end tests (`tests/e2e`, on free ports, databases recreated) and by `make run-split`
(`deploy/run_split.py`, on fixed ports, databases kept):

- Kafka (Tansu) and the event topics;
- per process group (`monolith`, or one per app with `SERVICE_APPS=<app>`): its own databases
  (`default` and each served app's), `migrate`, a gunicorn HTTP server, a gRPC server where other
  apps call it (config/routes.py GRPC_CALLERS), and a Celery worker with embedded beat that relays
  its outbox and runs its Kafka consumers, on its own queue of the shared Redis broker;
- split mode: nginx on the route table of config/routes.py, as the Istio VirtualService routes.
"""

import functools
import os
import signal
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import psycopg
import redis
from psycopg import sql

from config import nginx
from config.routes import GRPC_CALLERS
from config.service_apps import DOMAIN_APPS
from tests.support.kafka import KafkaBroker
from tests.support.processes import (
    REPO_ROOT,
    ServerProcess,
    free_port,
    start_grpc_server,
    start_http_server,
    start_process,
    wait_for_port,
)

MODES = ("monolith", "split")
# The apps some other app calls over gRPC: only they need a gRPC server.
GRPC_SERVED = tuple(app for app, callers in GRPC_CALLERS.items() if callers)


def process_groups(mode: str) -> dict[str, tuple[str, ...]]:
    """Process group name -> the apps it serves."""
    return {"monolith": DOMAIN_APPS} if mode == "monolith" else {app: (app,) for app in DOMAIN_APPS}


@dataclass
class Ports:
    http: dict[str, int]  # per group
    grpc: dict[str, int]  # per app with a gRPC server (split mode only)
    metrics: dict[str, int]  # per group's Celery worker
    kafka: int
    proxy: int | None  # nginx, split mode only

    @classmethod
    def free(cls, mode: str) -> "Ports":
        groups = process_groups(mode)
        return cls(
            http={group: free_port() for group in groups},
            grpc={app: free_port() for app in GRPC_SERVED} if mode == "split" else {},
            metrics={group: free_port() for group in groups},
            kafka=free_port(),
            proxy=free_port() if mode == "split" else None,
        )


class Topology:
    def __init__(self, mode: str, *, database_prefix: str, postgres_url: str, redis_url: str,
                 secrets: dict[str, str], log_dir: Path, ports: Ports | None = None,
                 detached: bool = False):
        """`postgres_url` is the server (`postgres://user@host:port`); every database is named
        `<database_prefix>_...`. `secrets` (JWT_SIGNING_KEY, SERVICE_AUTH_SECRET,
        DJANGO_SECRET_KEY) are shared by every process. `detached` processes outlive us."""
        assert mode in MODES, mode
        self.mode = mode
        self.groups = process_groups(mode)
        self.database_prefix = database_prefix
        self.postgres_url = postgres_url
        self.redis_url = redis_url
        self.secrets = secrets
        self.log_dir = log_dir
        self.ports = ports or Ports.free(mode)
        self.spawn = {"log_dir": log_dir, "detached": detached}
        self.kafka = KafkaBroker(self.ports.kafka)
        self.servers: dict[str, ServerProcess] = {}  # by name, e.g. "inventory-http"

    # --- addresses --------------------------------------------------------------------------
    @property
    def base_url(self) -> str:
        """Where clients send API requests: nginx in split mode, the one server otherwise."""
        port = self.ports.proxy if self.mode == "split" else self.ports.http["monolith"]
        return f"http://127.0.0.1:{port}"

    def service_url(self, group: str) -> str:
        """A group's own HTTP server: its admin and operational endpoints."""
        return f"http://127.0.0.1:{self.ports.http[group]}"

    def group_serving(self, app: str) -> str:
        return next(group for group, apps in self.groups.items() if app in apps)

    # --- databases --------------------------------------------------------------------------
    def database_names(self, group: str) -> dict[str, str]:
        """Alias -> database name for `group`: its `default` and each served app's."""
        default = "default" if self.mode == "monolith" else f"default_{group}"
        names = {"default": f"{self.database_prefix}_{default}"}
        names.update({app: f"{self.database_prefix}_{app}" for app in self.groups[group]})
        return names

    def database_url(self, group: str, alias: str) -> str:
        return f"{self.postgres_url}/{self.database_names(group)[alias]}"

    def create_databases(self, recreate: bool) -> None:
        """Create the missing databases; with `recreate`, drop and create every one."""
        names = [name for group in self.groups for name in self.database_names(group).values()]
        with psycopg.connect(f"{self.postgres_url}/postgres", autocommit=True) as connection:
            existing = {row[0] for row in connection.execute("SELECT datname FROM pg_database")}
            for name in names:
                if recreate and name in existing:
                    connection.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(name)))
                if recreate or name not in existing:
                    connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))

    def delete_redis_keys(self) -> None:
        """Every key of the groups' cache prefixes and Celery queues (`<prefix>-<group>`): the
        shared Redis outlives runs, and an earlier run's rate-limit counters would throttle
        this one's registrations."""
        prefix = self.database_prefix
        with redis.Redis.from_url(self.redis_url) as client:
            keys = list(client.scan_iter(match=f"{prefix}-*", count=1000))
            if keys:
                client.delete(*keys)

    def drop_databases(self) -> None:
        with psycopg.connect(f"{self.postgres_url}/postgres", autocommit=True) as connection:
            for group in self.groups:
                for name in self.database_names(group).values():
                    connection.execute(
                        sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))

    # --- environment ------------------------------------------------------------------------
    def env(self, group: str) -> dict[str, str]:
        """Everything a process of `group` reads; variables it must not inherit are blanked."""
        apps = self.groups[group]
        env = {
            **self.secrets,
            "SERVICE_APPS": ",".join(apps),
            "DATABASE_URL": self.database_url(group, "default"),
            "KAFKA_BOOTSTRAP_SERVERS": self.kafka.bootstrap_servers,
            "REDIS_URL": self.redis_url,
            "CELERY_BROKER_URL": self.redis_url,
            # Each group its own queue and cache keys on the shared Redis.
            "CELERY_TASK_DEFAULT_QUEUE": f"{self.database_prefix}-{group}",
            "CACHE_KEY_PREFIX": f"{self.database_prefix}-{group}",
            "METRICS_PORT": str(self.ports.metrics[group]),
        }
        for app in DOMAIN_APPS:
            env[f"DATABASE_URL_{app.upper()}"] = (
                self.database_url(group, app) if app in apps else "")
            port = self.ports.grpc.get(app)
            env[f"{app.upper()}_GRPC_TARGET"] = f"127.0.0.1:{port}" if port and app not in apps else ""
        return env

    # --- processes --------------------------------------------------------------------------
    def manage(self, group: str, args: list[str], extra_env: dict[str, str] | None = None,
               timeout: float = 300) -> str:
        """Run `manage.py args` as `group`; its output, or RuntimeError naming it on failure."""
        result = subprocess.run(
            [sys.executable, "manage.py", *args], cwd=REPO_ROOT,
            env={**os.environ, **self.env(group), **(extra_env or {})},
            capture_output=True, text=True, timeout=timeout,
        )
        if result.returncode:
            raise RuntimeError(
                f"manage.py {' '.join(args)} ({group}) failed:\n{result.stdout}{result.stderr}")
        return result.stdout

    def start(self, recreate_databases: bool) -> "Topology":
        """Everything, each step as soon as what it needs is there: the topics while the groups
        migrate, each group's processes (all at once) when its databases are migrated and the
        topics exist. Returns when every HTTP and gRPC server answers (the workers log "ready." a
        moment later). Stops what it started if a step fails."""
        try:
            self.kafka.start(**self.spawn)
            self.servers["kafka"] = self.kafka.server
            if self.mode == "split":
                self.start_proxy()  # nginx needs only the upstreams' addresses
            self.create_databases(recreate=recreate_databases)
            if recreate_databases:
                self.delete_redis_keys()
            groups = list(self.groups)
            with ThreadPoolExecutor(max_workers=len(groups) + 1) as pool:
                topics = pool.submit(self.manage, groups[0], ["create_topics"])

                def migrate_and_start(group: str) -> None:
                    self.manage(group, ["migrate", "--noinput"])
                    topics.result()
                    self.start_group(group)

                for started in [pool.submit(migrate_and_start, group) for group in groups]:
                    started.result()
        except BaseException:
            self.stop()
            raise
        return self

    def start_group(self, group: str) -> None:
        """The group's Celery worker with beat, HTTP server and gRPC server (where called)."""
        self.start_worker(group)
        self.start_servers(group)

    def start_servers(self, group: str) -> None:
        """The group's HTTP server and its gRPC server (where called), started together, as the
        containers of one pod; returns when both answer."""
        called = [app for app in self.groups[group] if app in self.ports.grpc]
        _in_parallel([functools.partial(self.start_http, group)]
                     + [functools.partial(self.start_grpc, app) for app in called])

    def start_worker(self, group: str) -> None:
        self.servers[f"{group}-worker"] = start_process(
            f"{group}-worker",
            [sys.executable, "-m", "celery", "-A", "config", "worker", "--beat",
             "--schedule", str(self.log_dir / f"{group}-celerybeat-schedule"),
             "--concurrency", "2", "--loglevel", "INFO", "--without-mingle", "--without-gossip"],
            self.env(group), port=self.ports.metrics[group], **self.spawn,
        )

    def start_http(self, group: str) -> None:
        self.servers[f"{group}-http"] = start_http_server(
            f"{group}-http", self.env(group), port=self.ports.http[group], **self.spawn)

    def start_grpc(self, app: str) -> None:
        # The group's METRICS_PORT is its Celery worker's: the gRPC server's exporter takes a free one.
        env = {key: value for key, value in self.env(self.group_serving(app)).items()
               if key != "METRICS_PORT"}
        self.servers[f"{app}-grpc"] = start_grpc_server(
            f"{app}-grpc", env, port=self.ports.grpc[app], **self.spawn)

    def kill_servers(self, group: str) -> None:
        """SIGKILL the group's HTTP and gRPC servers with their children, as a crash would."""
        for name in (f"{group}-http", f"{group}-grpc"):
            server = self.servers.pop(name, None)
            if server is None or server.process.poll() is not None:
                continue
            if self.spawn["detached"]:  # its own process group: gunicorn's workers go with it
                os.killpg(server.process.pid, signal.SIGKILL)
                server.process.wait()
            else:
                server.kill()

    def start_proxy(self) -> None:
        state_dir = self.log_dir / "nginx"
        state_dir.mkdir(parents=True, exist_ok=True)
        upstreams = {app: f"127.0.0.1:{self.ports.http[app]}" for app in self.groups}
        config = state_dir / "nginx.conf"
        config.write_text(nginx.render(self.ports.proxy, upstreams, state_dir))
        proxy = start_process("nginx", ["nginx", "-p", str(state_dir), "-e", str(state_dir / "error.log"),
                                        "-c", str(config)], {}, port=self.ports.proxy, **self.spawn)
        self.servers["nginx"] = proxy
        wait_for_port(self.ports.proxy, process=proxy.process)

    def stop(self) -> None:
        """Stop every process, the broker last (workers commit their offsets to it)."""
        processes = [self.servers.pop(name) for name in list(self.servers) if name != "kafka"]
        if processes:
            _in_parallel([lambda server=server: server.stop(timeout=20) for server in processes])
        if "kafka" in self.servers:
            self.servers.pop("kafka").stop()


def _in_parallel(calls) -> None:
    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        for future in [pool.submit(call) for call in calls]:
            future.result()
