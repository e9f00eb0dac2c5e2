"""`make run-split` / `make stop-split`: the split services on this machine, in the background.

    python deploy/run_split.py start --postgres postgres://postgres@127.0.0.1:5432 --redis redis://127.0.0.1:6379/1
    python deploy/run_split.py stop

The topology is the one the end-to-end tests run (tests/support/split.py): per app an HTTP
server (users :8001, products :8002, inventory :8003, payments :8004), a gRPC server where other
apps call it (:50061-50063) and a Celery worker with beat; Kafka (Tansu, in memory) on :9092;
nginx on http://127.0.0.1:8080 routing by config/routes.py. Databases `shop_split_*` are kept
between runs; the demo catalogue is seeded (idempotently) through the products process, and a
staff account is created in users from DJANGO_SUPERUSER_EMAIL / DJANGO_SUPERUSER_PASSWORD when
both are set. Logs, pids and the shared secrets live in var/split/.
"""

import argparse
import contextlib
import json
import os
import secrets
import signal
import socket
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

from config.jwt_keys import generate_private_pem  # noqa: E402
from config.service_apps import DOMAIN_APPS  # noqa: E402
from tests.support.split import GRPC_SERVED, Ports, Topology  # noqa: E402

STATE_DIR = ROOT / "var" / "split"
PIDS = STATE_DIR / "pids.json"
SECRETS = STATE_DIR / "secrets.json"
PORTS = Ports(
    http={app: 8001 + index for index, app in enumerate(DOMAIN_APPS)},
    # Beside gRPC's usual 50051, which a `manage.py grpcserve` with defaults would take.
    grpc={app: 50061 + index for index, app in enumerate(GRPC_SERVED)},
    metrics={app: 9101 + index for index, app in enumerate(DOMAIN_APPS)},
    kafka=9092,
    proxy=8080,
)


def shared_secrets() -> dict[str, str]:
    """Generated once and kept, so tokens and admin sessions survive a restart."""
    if not SECRETS.exists():
        SECRETS.write_text(json.dumps({
            "JWT_SIGNING_KEY": generate_private_pem(),
            "SERVICE_AUTH_SECRET": secrets.token_urlsafe(50),
            "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
        }))
        SECRETS.chmod(0o600)
    return json.loads(SECRETS.read_text())


def all_ports() -> list[int]:
    return [*PORTS.http.values(), *PORTS.grpc.values(), *PORTS.metrics.values(), PORTS.kafka, PORTS.proxy]


def port_in_use(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


def running_pids() -> dict[str, int]:
    if not PIDS.exists():
        return {}
    return {name: pid for name, pid in json.loads(PIDS.read_text()).items() if _alive(pid)}


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def start(postgres_url: str, redis_url: str) -> int:
    STATE_DIR.mkdir(parents=True, exist_ok=True)
    if running_pids():
        print("The split services are already running; `make stop-split` first.", file=sys.stderr)
        return 1
    busy = [port for port in all_ports() if port_in_use(port)]
    if busy:
        print(f"Port(s) {', '.join(map(str, busy))} already in use on 127.0.0.1.", file=sys.stderr)
        return 1
    topology = Topology("split", database_prefix="shop_split", postgres_url=postgres_url,
                        redis_url=redis_url, secrets=shared_secrets(), log_dir=STATE_DIR,
                        ports=PORTS, detached=True)
    print("Starting Kafka, migrating shop_split_* and starting the services ...")
    topology.start(recreate_databases=False)
    PIDS.write_text(json.dumps({name: server.process.pid for name, server in topology.servers.items()}))
    try:
        print(topology.manage("products", ["seed_demo"]).strip().splitlines()[-1])
        email = os.environ.get("DJANGO_SUPERUSER_EMAIL")
        if email and os.environ.get("DJANGO_SUPERUSER_PASSWORD"):
            create_staff(topology, email)
    except BaseException:
        stop()
        raise
    print(f"\nAPI through nginx: {topology.base_url}/api/v1/ (routes of config/routes.py)")
    for app in DOMAIN_APPS:
        print(f"  {app:<9} {topology.service_url(app)}  (admin: {topology.service_url(app)}/admin/, "
              f"schema: {topology.service_url(app)}/api/schema/)")
    print(f"Logs in {STATE_DIR.relative_to(ROOT)}/; stop with `make stop-split`.")
    return 0


def create_staff(topology: Topology, email: str) -> None:
    try:
        topology.manage("users", ["createsuperuser", "--noinput"])
        print(f"Staff account {email} created in users.")
    except RuntimeError as error:
        if "already taken" not in str(error):
            raise
        print(f"Staff account {email} already exists.")


def stop() -> int:
    """SIGTERM each process group we started, SIGKILL what is left after 20 s."""
    pids = running_pids()
    for pid in pids.values():
        _signal_group(pid, signal.SIGTERM)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and any(_alive(pid) for pid in pids.values()):
        time.sleep(0.2)
    for pid in pids.values():
        _signal_group(pid, signal.SIGKILL)
    PIDS.unlink(missing_ok=True)
    print(f"Stopped {len(pids)} process(es)." if pids else "Nothing was running.")
    return 0


def _signal_group(pid: int, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, sig)  # each was started in its own session: its group is its pid


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    start_parser = commands.add_parser("start")
    start_parser.add_argument("--postgres", required=True, help="server URL, postgres://user@host:port")
    start_parser.add_argument("--redis", required=True, help="Redis URL (cache and Celery broker)")
    commands.add_parser("stop")
    arguments = parser.parse_args()
    if arguments.command == "start":
        return start(arguments.postgres, arguments.redis)
    return stop()


if __name__ == "__main__":
    sys.exit(main())
