"""`make bench`: measure the shop on this machine, each figure next to a baseline from the same run.

Starts everything it measures itself: fresh PostgreSQL databases `bench_*`, Redis db 14, a Tansu
Kafka broker, the monolith under gunicorn (`-c config/gunicorn.py`, 2 workers x 4 threads, as
`make run`) and a Celery worker; then, once those are stopped, the split topology of
tests/support/split.py (Kafka, per app gunicorn + gRPC server + Celery worker, nginx) on databases
`bench_split_*`. Load comes from wrk (bench/wrk/requests.lua). Prints one table, writes
bench/results/<UTC time>.json and the table into bench/README.md.
"""

import argparse
import functools
import json
import os
import secrets
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

import grpc
import psutil
import psycopg
import requests
from grpc_health.v1 import health_pb2, health_pb2_grpc
from prometheus_client.parser import text_string_to_metric_families

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench import constant_rate  # noqa: E402
from config.jwt_keys import generate_private_pem  # noqa: E402
from tests.support.kafka import KafkaBroker  # noqa: E402
from tests.support.polling import wait_until  # noqa: E402
from tests.support.processes import PROBE_CHANNEL_OPTIONS, ServerProcess, free_port, start_process  # noqa: E402
from tests.support.split import Topology  # noqa: E402

PG = "postgres://postgres@127.0.0.1:5432"
DATABASES = {"DATABASE_URL": "bench_default", "DATABASE_URL_USERS": "bench_users",
             "DATABASE_URL_PRODUCTS": "bench_products", "DATABASE_URL_INVENTORY": "bench_inventory",
             "DATABASE_URL_PAYMENTS": "bench_payments"}
REDIS_URL = "redis://127.0.0.1:6379/14"
LUA = ROOT / "bench" / "wrk" / "requests.lua"
RESULTS = ROOT / "bench" / "results"
README = ROOT / "bench" / "README.md"
TABLE_START, TABLE_END = "<!-- bench table -->", "<!-- end bench table -->"
EVENTS_QUEUE = "bench-events"
EVENTS = 5000  # the least the event row drains
SPLIT_PREFIX = "bench_split"
SECRETS = ("JWT_SIGNING_KEY", "SERVICE_AUTH_SECRET", "DJANGO_SECRET_KEY")


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--products", type=int, default=20_000, help="catalogue size (seed_demo)")
    parser.add_argument("--duration", type=int, default=10, help="seconds per wrk run")
    parser.add_argument("--connections", type=int, default=16, help="wrk's fixed concurrency")
    parser.add_argument("--split-products", type=int, default=1000,
                        help="catalogue size of the split run (only 100 products are bought)")
    parser.add_argument("--events", type=int, default=EVENTS,
                        help="purchase events drained through the event path (at least 5000)")
    parser.add_argument("--events-only", action="store_true",
                        help="measure only the event row; print it, write no results")
    parser.add_argument("--rate", type=float, default=50,
                        help="arrival rate (per second) of the constant-rate purchase rows")
    options = parser.parse_args()
    options.events = max(options.events, EVENTS)

    work = Path(tempfile.mkdtemp(prefix="shop-bench-"))
    broker = KafkaBroker().start()
    env = {
        **{name: f"{PG}/{database}" for name, database in DATABASES.items()},
        "REDIS_URL": REDIS_URL, "CACHE_KEY_PREFIX": "bench",
        # The load comes from one address and a few users: rates far above it, so the counting
        # is measured and nothing is refused (the per-scope limits stay at their defaults).
        "THROTTLE_RATES": "anon=100000000/min,user=100000000/min",
        "KAFKA_BOOTSTRAP_SERVERS": broker.bootstrap_servers,
        "JWT_SIGNING_KEY": generate_private_pem(), "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
        "SERVICE_AUTH_SECRET": secrets.token_urlsafe(50),
        "VAR_DIR": str(work), "DJANGO_SETTINGS_MODULE": "bench.settings",
    }
    os.environ.update(env)
    results = {"when": datetime.now(UTC).isoformat(timespec="seconds"), "machine": machine(),
               "options": vars(options)}
    server = worker = None
    try:
        prepare(options.products)
        import django

        django.setup()
        if not options.events_only:
            server, results["startup_monolith"] = start_monolith(options.connections)
            results["http"] = measure_http(server, work, options)
            results["notify_commits"] = measure_notify_commits()
        worker, results["startup_worker"], metrics_port = start_worker()
        # The lag is measured at the monolith's saturated purchase rate when this run measured it.
        lag_rate = (results["http"]["purchase_monolith"]["requests_per_second"] if "http" in results
                    else options.rate)
        results["events"] = measure_events(broker, metrics_port, options.events, lag_rate, options.duration)
        if not options.events_only:
            for process in (worker, server):
                process.stop(timeout=30)
            worker = None
            server = start_monolith(options.connections, workers=1, threads=8)[0]
            results["http"]["purchase_monolith_one_worker"] = purchase(
                server.url, work, "purchase_monolith_one_worker", results["http"]["bought"], options)
    finally:
        for process in (worker, server):
            if process:
                process.stop(timeout=30)
        broker.stop()
    if options.events_only:
        print("\n".join(table_lines(event_rows(results["events"]))))
        return
    results["split"] = measure_split(work, options)
    table = render(results)
    print(table)
    RESULTS.mkdir(exist_ok=True)
    name = RESULTS / f"{results['when'].replace(':', '').replace('+0000', 'Z')}.json"
    name.write_text(json.dumps(results, indent=2) + "\n")
    update_readme(table)
    print(f"\nwrote {name.relative_to(ROOT)} and bench/README.md")


def machine() -> dict:
    return {"cpus": os.cpu_count(), "memory_gib": round(psutil.virtual_memory().total / 2**30, 1),
            "python": sys.version.split()[0]}


def prepare(products: int):
    """Fresh databases, migrated and seeded; an empty Redis db; the event topics."""
    with psycopg.connect(f"{PG}/postgres", autocommit=True) as connection:
        for database in DATABASES.values():
            connection.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
            connection.execute(f'CREATE DATABASE "{database}"')
    subprocess.run(["redis-cli", "-n", "14", "flushdb"], check=True, capture_output=True)
    manage("migrate", "--verbosity", "0")
    started = time.monotonic()
    manage("seed_demo", "--products", str(products))
    print(f"seeded {products} products in {time.monotonic() - started:.0f}s", flush=True)
    manage("create_topics")


def manage(*args: str):
    subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, check=True,
                   stdout=subprocess.DEVNULL)


def start_monolith(connections: int, workers: int = 2, threads: int = 4) -> tuple[ServerProcess, dict]:
    """gunicorn's gthread workers accept greedily: wrk's connections, opened at once, could all land
    on one worker (16 and 0 served 600 req/s where 12 and 4 served 1,442). Each worker takes at most
    its share of `connections`, as a balancer in front of them would spread them."""
    port = free_port()
    started = time.monotonic()
    server = start_process(f"bench-monolith-{workers}x{threads}", [
        sys.executable, "-m", "gunicorn", "-c", "config/gunicorn.py", "config.wsgi:application",
        "--bind", f"127.0.0.1:{port}", "--workers", str(workers), "--threads", str(threads),
        "--worker-class", "gthread", "--worker-connections", str(-(-connections // workers)),
    ], {}, port)
    wait(lambda: requests.get(f"{server.url}/readyz", timeout=1).status_code == 200, server, "/readyz 200")
    return server, {"seconds_to_ready": round(time.monotonic() - started, 2), **memory(server.process.pid)}


def start_worker() -> tuple[ServerProcess, dict, int]:
    """The Celery worker with its relay loops and consumers; (process, start-up figures, metrics port)."""
    started = time.monotonic()
    metrics_port = free_port()
    worker = start_process("bench-worker", [
        sys.executable, "-m", "celery", "-A", "config", "worker", "-Q", EVENTS_QUEUE, "--concurrency", "1",
        "--loglevel", "INFO", "--without-mingle", "--without-gossip",
    ], {"METRICS_PORT": str(metrics_port)}, 0)
    wait(lambda: "consumer shop-inventory reading" in worker.log(), worker, "its consumers")
    startup = {"seconds_to_ready": round(time.monotonic() - started, 2), **memory(worker.process.pid)}
    return worker, startup, metrics_port


def wait(ready, process: ServerProcess, what: str, timeout: float = 120):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.process.poll() is not None:
            raise RuntimeError(f"{process.name} exited:\n{process.log()[-3000:]}")
        try:
            if ready():
                return
        except requests.RequestException:
            pass
        time.sleep(0.05)
    raise TimeoutError(f"{process.name}: no {what} after {timeout}s")


def memory(pid: int) -> dict:
    """Resident memory of a process and each of its children (gunicorn workers, Celery pool)."""
    parent = psutil.Process(pid)
    mib = lambda process: round(process.memory_info().rss / 2**20, 1)  # noqa: E731
    return {"rss_mib": {"main": mib(parent), **{f"child-{n}": mib(child) for n, child
                                                 in enumerate(parent.children(recursive=True), 1)}}}


def wrk(url: str, requests_file: Path, options, **env) -> dict:
    """One wrk run at fixed concurrency; its figures from the Lua script's done()."""
    output = subprocess.run(
        ["wrk", "-t", "1", "-c", str(options.connections), "-d", f"{options.duration}s", "--timeout", "10s",
         "-s", str(LUA), url],
        env={**os.environ, "BENCH_REQUESTS": str(requests_file), **env},
        capture_output=True, text=True, check=True,
    ).stdout
    figures = json.loads(output.strip().splitlines()[-1])
    figures["requests_per_second"] = round(figures["requests"] / (figures.pop("duration_us") / 1e6), 1)
    return figures


def request_file(work: Path, name: str, lines) -> Path:
    path = work / f"{name}.txt"
    path.write_text("".join(f"{line}\n" for line in lines))
    return path


def measure_http(server: ServerProcess, work: Path, options) -> dict:
    from apps.inventory.interface import StockLine, receive_stock
    from apps.products.models import Product
    from bench.counts import request_counts

    active = Product.objects.filter(status="active").order_by("sku")
    ids = [str(pk) for pk in active.values_list("id", flat=True)]
    listing = "/api/v1/products?page=1"
    # One request of each kind in this process, before the runs (nothing of theirs cached yet),
    # after one that opens the process's connections (their set-up is no request's cost).
    request_counts("GET", "/bench/baseline")
    counts = {
        "baseline": request_counts("GET", "/bench/baseline"),
        "list_cached": request_counts("GET", listing, warm=True),
        "list_uncached": request_counts("GET", f"{listing}&max_price=999999.99"),
        "detail_cached": request_counts("GET", f"/api/v1/products/{ids[0]}", warm=True),
        "detail_uncached": request_counts("GET", f"/api/v1/products/{ids[-1]}"),
    }
    for path in (listing, f"/api/v1/products/{ids[0]}"):  # fill the cache for the cached runs
        assert requests.get(server.url + path, timeout=10).status_code == 200
    etag = requests.get(server.url + listing, timeout=10).headers["ETag"]
    counts["list_revalidated"] = request_counts("GET", listing, HTTP_IF_NONE_MATCH=etag)

    runs = {
        "baseline": ["/bench/baseline"],
        "list_cached": [listing],
        # The same rows as the cached list: a price ceiling above every price, different each time,
        # gives each request its own cache entries (page and count), so nothing is cached.
        "list_uncached": (f"{listing}&max_price={999_999.99 - n / 100:.2f}" for n in range(200_000)),
        "detail_cached": [f"/api/v1/products/{ids[0]}"],
        # Every product once: each request misses the cache while the run stays under len(ids).
        "detail_uncached": (f"/api/v1/products/{pk}" for pk in ids),
    }
    figures = {}
    for name, lines in runs.items():
        figures[name] = wrk(server.url, request_file(work, name, lines), options)
        print(f"{name}: {figures[name]}", flush=True)
    figures["detail_uncached"]["distinct_ids"] = len(ids)
    # A client (or proxy) holding the current list page asks whether it changed: 304, no body.
    figures["list_revalidated"] = wrk(server.url, request_file(work, "list_revalidated", [listing]), options,
                                      BENCH_HEADER=f"If-None-Match: {etag}")
    print(f"list_revalidated: {figures['list_revalidated']}", flush=True)

    # The purchase: one unit of one of 100 products per request, each a fresh Idempotency-Key.
    bought = ids[:100]
    receive_stock(f"bench-{uuid.uuid4()}", [StockLine(uuid.UUID(pk), 1_000_000) for pk in bought],
                  reason="bench stock")
    counts["purchase_monolith"] = request_counts(
        "POST", "/api/v1/payments", data=purchase_body(bought[0]), content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {access_token(is_staff=False)}", HTTP_IDEMPOTENCY_KEY=str(uuid.uuid4()))
    figures["purchase_monolith"] = purchase(server.url, work, "purchase_monolith", bought, options)
    figures["purchase_monolith_rate"] = purchase_at_rate(server.url, "purchase_monolith_rate", bought,
                                                         options)
    for name, counted in counts.items():
        figures[name]["counts"] = counted
    figures["bought"] = bought
    return figures


def measure_notify_commits(writers: int = 8, each: int = 250) -> dict:
    """Why the outbox wakes its relays after commit (docs/events.md): `writers` connections (the
    monolith's 2 x 4 threads) committing one-row inserts at once, with a NOTIFY after each commit
    (as the outbox does) and inside the transaction (as its trigger did). Commits per second and
    WAL flushes per commit (`pg_stat_wal` is cluster-wide: nothing else runs meanwhile)."""
    url = f"{PG}/{DATABASES['DATABASE_URL_PAYMENTS']}"
    notify = "SELECT pg_notify('bench_commit_probe', '')"

    def write(notify_inside: bool) -> None:
        with psycopg.connect(url) as connection:  # its backend reports its statistics on exit
            for n in range(each):
                connection.execute("INSERT INTO bench_commit_probe (n) VALUES (%s)", [n])
                if notify_inside:
                    connection.execute(notify)
                connection.commit()
                if not notify_inside:
                    connection.execute(notify)
                    connection.commit()

    def wal_flushes() -> int:
        time.sleep(0.5)  # for the writers' backends to have exited
        with psycopg.connect(url, autocommit=True) as connection:
            return connection.execute("SELECT wal_sync FROM pg_stat_wal").fetchone()[0]

    with psycopg.connect(url, autocommit=True) as connection:
        connection.execute("CREATE TABLE bench_commit_probe (id bigserial PRIMARY KEY, n integer)")
    figures = {"writers": writers}
    try:
        flushed = wal_flushes()
        for name, notify_inside in (("after_commit", False), ("inside", True)):
            started = time.monotonic()
            with ThreadPoolExecutor(max_workers=writers) as pool:
                list(pool.map(write, [notify_inside] * writers))
            elapsed, commits = time.monotonic() - started, writers * each
            before, flushed = flushed, wal_flushes()  # one reading ends a run and starts the next
            figures[name] = {"commits_per_second": round(commits / elapsed),
                             "wal_flushes_per_commit": round((flushed - before) / commits, 2)}
    finally:
        with psycopg.connect(url, autocommit=True) as connection:
            connection.execute("DROP TABLE bench_commit_probe")
    print(f"notify_commits: {figures}", flush=True)
    return figures


def access_token(is_staff: bool) -> str:
    """A fresh user's access token as users issues it (with the e-mail claim payments records),
    signed with the bench's JWT_SIGNING_KEY (shared by every process)."""
    from apps.common.auth.tokens import AccessToken

    token, user_id = AccessToken(), str(uuid.uuid4())
    token["user_id"], token["is_staff"], token["email"] = user_id, is_staff, f"bench-{user_id}@example.com"
    return str(token)


def purchase(url: str, work: Path, name: str, product_ids: list[str], options) -> dict:
    """POST /payments: one unit of one of `product_ids` per request, each a fresh Idempotency-Key."""
    figures = wrk(
        url, request_file(work, name, (f"/api/v1/payments\t{purchase_body(pk)}" for pk in product_ids)),
        options, BENCH_METHOD="POST", BENCH_AUTH=f"Bearer {access_token(is_staff=False)}",
        BENCH_RUN_ID=uuid.uuid4().hex,
    )
    print(f"{name}: {figures}", flush=True)
    return figures


def purchase_body(product_id: str) -> str:
    return json.dumps({"items": [{"product_id": product_id, "quantity": 1}],
                       "payment_method": {"token": "tok_visa"}})


def purchase_at_rate(url: str, name: str, product_ids: list[str], options) -> dict:
    """The purchase at a constant arrival rate (`--rate`, 50/s): its latency below saturation."""
    figures = constant_rate.run(
        url, constant_rate.purchases(product_ids, f"Bearer {access_token(is_staff=False)}"),
        rate=options.rate, duration=options.duration, max_in_flight=options.connections,
    )
    print(f"{name}: {figures}", flush=True)
    return figures


def grpc_calls_made(server: ServerProcess) -> float:
    """RPCs this process has made to other services so far, from its /metrics."""
    body = requests.get(f"{server.url}/metrics", timeout=10).text
    return sum(sample.value for family in text_string_to_metric_families(body) for sample in family.samples
               if sample.name == "shop_grpc_client_requests_total")


def measure_split(work: Path, options) -> dict:
    """Start the split topology timing each process, seed it through its own services, buy."""
    topology = Topology("split", database_prefix=SPLIT_PREFIX, postgres_url=PG, redis_url=REDIS_URL,
                        secrets={name: os.environ[name] for name in SECRETS}, log_dir=work / "split")
    try:
        startup = start_split(topology)
        print(f"split topology ready in {startup['seconds_to_ready']} s", flush=True)
        topology.manage("products", ["seed_demo", "--products", str(options.split_products)])
        bought = seed_split_stock(topology)
        payments = topology.servers["payments-http"]
        before = grpc_calls_made(payments)
        saturated = purchase(topology.base_url, work, "purchase_split", bought, options)
        saturated["grpc_calls_per_purchase"] = round(
            (grpc_calls_made(payments) - before) / saturated["requests"], 2)
        return {"startup": startup, "purchase": saturated,
                "purchase_rate": purchase_at_rate(topology.base_url, "purchase_split_rate", bought, options)}
    finally:
        topology.stop()
        topology.drop_databases()


# The Topology method that starts a process again, by the kind its name ends with.
RESTARTS = {"http": "start_http", "grpc": "start_grpc", "worker": "start_worker"}


def start_split(topology: Topology) -> dict:
    """The topology's cold start (every process at once, as `kubectl apply` does), then each
    process restarted alone while the rest runs (as after a crash or in a rolling update): each
    process's seconds from spawn to readiness in both, and its resident memory with children."""
    started = time.time()
    cold = start_watched(topology, lambda: topology.start(recreate_databases=True))
    ready = max(ready_at for _, ready_at in cold.values())
    restarted = {}
    for name in sorted(topology.servers):
        owner, _, kind = name.rpartition("-")  # kafka and nginx are not restarted
        if kind in RESTARTS:
            topology.servers.pop(name).stop(timeout=20)
            start = functools.partial(getattr(topology, RESTARTS[kind]), owner)
            restarted.update(start_watched(topology, start))
    processes = {}
    for name, server in sorted(topology.servers.items()):
        spawned, ready_at = restarted.get(name, cold[name])
        processes[name] = {"seconds_to_ready": round(ready_at - spawned, 2),
                           "cold_start_seconds": round(cold[name][1] - cold[name][0], 2),
                           **memory(server.process.pid)}
    return {"seconds_to_ready": round(ready - started, 2), "processes": processes}


def start_watched(topology: Topology, start) -> dict[str, tuple[float, float]]:
    """Call `start()` in a thread and watch each process it adds to the topology: name -> (its
    spawn, the kernel's start time; its readiness): /readyz 200 (HTTP), gRPC health SERVING,
    Celery's "ready." log line (worker), an open port (nginx, Kafka)."""
    before = dict(topology.servers)
    started = time.time()
    ready_at: dict[str, float] = {}
    with ThreadPoolExecutor(max_workers=32) as pool:
        starting = pool.submit(start)
        watched: dict[str, ServerProcess] = {}
        while not (starting.done() and set(watched) == set(new_servers(topology, before)) == set(ready_at)):
            if starting.done() and starting.exception():
                raise starting.exception()
            if time.time() - started > 300:
                raise TimeoutError(f"split topology: only {sorted(ready_at)} ready after 300 s")
            for name, server in new_servers(topology, before).items():
                if name not in watched:
                    watched[name] = server
                    pool.submit(watch_ready, topology, name, server, ready_at)
            time.sleep(0.05)
    return {name: (psutil.Process(server.process.pid).create_time(), ready_at[name])
            for name, server in watched.items()}


def new_servers(topology: Topology, before: dict[str, ServerProcess]) -> dict[str, ServerProcess]:
    return {name: server for name, server in list(topology.servers.items()) if before.get(name) is not server}


def watch_ready(topology: Topology, name: str, server: ServerProcess, ready_at: dict[str, float]):
    deadline = time.time() + 240
    while time.time() < deadline and server.process.poll() is None:
        if split_process_ready(topology, name, server):
            ready_at[name] = time.time()
            return
        time.sleep(0.05)


def split_process_ready(topology: Topology, name: str, server: ServerProcess) -> bool:
    try:
        if name.endswith("-http"):
            return requests.get(f"{server.url}/readyz", timeout=2).status_code == 200
        if name.endswith("-grpc"):
            with grpc.insecure_channel(server.address, options=PROBE_CHANNEL_OPTIONS) as channel:
                status = health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(), timeout=2)
                return status.status == health_pb2.HealthCheckResponse.SERVING
        if name.endswith("-worker"):
            return " ready." in server.log()
        socket.create_connection(("127.0.0.1", server.port), timeout=0.5).close()
        return True
    except (requests.RequestException, grpc.RpcError, OSError):
        return False


def seed_split_stock(topology: Topology) -> list[str]:
    """A million units for each of the first 100 active products, as staff through nginx."""
    with psycopg.connect(topology.database_url("products", "products")) as connection:
        ids = [str(row[0]) for row in connection.execute(
            "SELECT id FROM products_product WHERE status = 'active' ORDER BY sku LIMIT 100")]
    staff = {"Authorization": f"Bearer {access_token(is_staff=True)}"}
    with requests.Session() as session:
        for pk in ids:
            response = session.post(f"{topology.base_url}/api/v1/inventory/{pk}/adjustments", headers=staff,
                                    json={"delta": 1_000_000, "reason": "bench stock"}, timeout=10)
            response.raise_for_status()
    return ids


def measure_events(broker: KafkaBroker, metrics_port: int, count: int, lag_rate: float, seconds: int) -> dict:
    """Drain `count` purchase events from payments' outbox through Kafka into sales, against a bare
    Kafka loop; count what the event path cost per event.

    Timed from the commit of the events (one transaction, whose NOTIFY wakes the worker's relay
    loop) until every one is a `sale` in the ledger, with both sides already running: the worker's
    relay loops listening and its consumers assigned (they applied the warm-up events first). The
    reservations the events commit are made, and their `stock_changed` events drained, before.
    """
    from apps.common.events.outbox import outbox_model
    from apps.inventory.interface import StockLine, receive_stock
    from apps.inventory.models import LedgerEntry
    from apps.payments.event_types import PurchaseCompleted
    from apps.products.models import Product

    sales = LedgerEntry.objects.filter(kind=LedgerEntry.Kind.SALE)
    outbox = outbox_model("payments").objects
    # Warm-up: the purchases of the HTTP rows, or a few of our own, prove both sides are running.
    products = [str(pk) for pk in Product.objects.filter(status="active").order_by("sku")
                .values_list("id", flat=True)[:100]]
    receive_stock(f"bench-events-{uuid.uuid4()}", [StockLine(uuid.UUID(pk), 1_000_000) for pk in products],
                  reason="bench stock")
    warm_up = [purchase_completed(products, n) for n in range(20)]
    reserve_for(warm_up)
    commit_purchase_events(warm_up)
    purchases = outbox.filter(type=PurchaseCompleted.TYPE).count()
    wait_until(lambda: sales.count() >= purchases, "the warm-up sales", timeout=600)

    events = [purchase_completed(products, n) for n in range(count)]
    started = time.monotonic()
    reserve_for(events)
    print(f"reserved {count} purchases in {time.monotonic() - started:.0f}s", flush=True)
    wait_until(lambda: events_settled(broker), "the reservations' stock_changed events", timeout=600)

    before = event_path_counters(metrics_port)
    commit_purchase_events(events)
    started = time.monotonic()
    target, polls = purchases + count, 0
    while sales.count() < target:
        polls += 1
        if time.monotonic() - started > 600:
            raise TimeoutError(f"{sales.count() - purchases} of {count} sales applied after 600s")
        time.sleep(0.1)
    elapsed = time.monotonic() - started
    time.sleep(2)  # a PostgreSQL backend publishes its transaction counts at most once a second
    after = event_path_counters(metrics_port)
    # Our own: the emitting transaction and each poll of the sales count.
    spent = {name: after[name] - before[name] for name in after}
    spent["transactions"] -= 1 + polls + 1  # the emitting one, the polls and the last count
    payload = outbox.filter(type=PurchaseCompleted.TYPE).first().payload
    payload_bytes = len(json.dumps(payload).encode())
    consumed = spent.pop("consumed")
    bare = bare_kafka_loop(broker, count, payload_bytes)
    lag = measure_lag(broker, products, lag_rate, seconds)
    return {"events": count, "seconds": round(elapsed, 2), "events_per_second": round(count / elapsed, 1),
            "per_event": {name: round(value / count, 4) for name, value in spent.items()},
            "consumed_per_event": round(consumed / count, 2),
            "per_consumed": {name: round(spent[name] / consumed, 4)
                             for name in ("transactions", "offset_commits")},
            "bare_kafka": bare, "lag": lag}


def measure_lag(broker: KafkaBroker, products: list[str], rate: float, seconds: int) -> dict:
    """End-to-end lag at `rate` purchases/s for `seconds`: each purchase event committed in a
    transaction of its own at its due time (as purchases commit), from that commit (the outbox
    row's `created_at`) to its `sale` in the ledger (the entry's `created_at`)."""
    events = [purchase_completed(products, n) for n in range(max(int(rate * seconds), 100))]
    reserve_for(events)
    wait_until(lambda: events_settled(broker), "the reservations' stock_changed events", timeout=600)
    started = time.monotonic()
    for n, data in enumerate(events):
        if (wait := started + n / rate - time.monotonic()) > 0:
            time.sleep(wait)
        commit_purchase_events([data])
    references = [data["payment_id"] for data in events]
    with psycopg.connect(f"{PG}/{DATABASES['DATABASE_URL_PAYMENTS']}") as payments, \
            psycopg.connect(f"{PG}/{DATABASES['DATABASE_URL_INVENTORY']}") as inventory:
        committed = dict(payments.execute(
            "SELECT key, created_at FROM payments_outboxevent WHERE key = ANY(%s)", [references]).fetchall())
        def sold() -> dict:
            inventory.commit()  # a fresh snapshot each time
            return dict(inventory.execute(
                "SELECT reference, created_at FROM inventory_stockadjustment WHERE kind = 'sale' "
                "AND reference = ANY(%s)", [references]).fetchall())

        sales = wait_until(lambda: len(found := sold()) == len(references) and found,
                           "every sale of the lag run", timeout=120)
    lags = [(sales[reference] - committed[reference]).total_seconds() for reference in references]
    return {"rate": round(rate, 1), "events": len(lags), **constant_rate.latency_percentiles(lags),
            "max_ms": round(max(lags) * 1000, 1)}


def reserve_for(purchases: list[dict]) -> None:
    """The reservation each purchase's event will commit (`purchase_completed` data)."""
    from apps.inventory.interface import StockLine, reserve

    for data in purchases:
        reserve(data["payment_id"], [StockLine(uuid.UUID(item["product_id"]), item["quantity"])
                                     for item in data["items"]])


def commit_purchase_events(purchases: list[dict]) -> None:
    """Payments' `purchase_completed` events of `purchases`, committed in one transaction."""
    from django.db import transaction

    from apps.common.events.outbox import emit_many
    from apps.payments.event_types import PurchaseCompleted

    with transaction.atomic(using="payments"):
        emit_many("payments", [(PurchaseCompleted.TYPE, data, data["payment_id"]) for data in purchases])


def purchase_completed(products: list[str], n: int) -> dict:
    payment_id = str(uuid.uuid4())
    return {"payment_id": payment_id, "user_id": str(uuid.uuid4()),
            "items": [{"product_id": products[n % len(products)], "quantity": 1, "unit_price": "5.00"}],
            "amount": "5.00", "currency": "USD"}


def events_settled(broker: KafkaBroker) -> bool:
    """Every outbox relayed and every consumer group at the end of its topics."""
    from confluent_kafka import Consumer, TopicPartition

    from apps.common.events.envelope import topics_consumed_by
    from apps.common.events.outbox import outbox_model

    for app in ("payments", "inventory"):
        if outbox_model(app).objects.using(app).filter(sent_at__isnull=True).exists():
            return False
    for app in ("inventory", "products"):
        client = Consumer({"bootstrap.servers": broker.bootstrap_servers, "group.id": f"shop-{app}"})
        try:
            for topic in topics_consumed_by(app):
                partitions = client.list_topics(topic, timeout=5).topics[topic].partitions
                committed = client.committed([TopicPartition(topic, p) for p in partitions], timeout=5)
                for position in committed:
                    end = client.get_watermark_offsets(position, timeout=5)[1]
                    if end and position.offset < end:
                        return False
        finally:
            client.close()
    return True


def event_path_counters(metrics_port: int) -> dict[str, float]:
    """SQL statements, offset commits, producer flushes and messages consumed by the worker (its
    relay loops and consumers, from its metrics), and transactions committed or rolled back in the
    bench databases."""
    from prometheus_client.parser import text_string_to_metric_families

    text = requests.get(f"http://127.0.0.1:{metrics_port}/metrics", timeout=10).text
    totals = {"statements": 0.0, "offset_commits": 0.0, "producer_flushes": 0.0, "consumed": 0.0}
    names = {"django_db_execute_total": "statements", "shop_consumer_offset_commits_total": "offset_commits",
             "shop_outbox_relay_batch_size_count": "producer_flushes",
             "shop_events_consumed_total": "consumed"}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            # Each message consumed counts once, whatever it came to (applied, skipped, dead-lettered).
            if sample.name in names and sample.labels.get("outcome") != "retried":
                totals[names[sample.name]] += sample.value
    with psycopg.connect(f"{PG}/postgres", autocommit=True) as connection:
        totals["transactions"] = float(connection.execute(
            "SELECT sum(xact_commit + xact_rollback) FROM pg_stat_database WHERE datname = ANY(%s)",
            [list(DATABASES.values())],
        ).fetchone()[0])
    return totals


def bare_kafka_loop(broker: KafkaBroker, count: int, size: int) -> dict:
    """The broker's ceiling: produce `count` messages of `size` bytes (idempotent, acks=all, as the
    relay does) and consume them all in one consumer group (auto commit), timed once the group
    has its partitions."""
    from confluent_kafka import Consumer, Producer

    topic, bootstrap = f"bench.bare.{uuid.uuid4().hex[:8]}", broker.bootstrap_servers
    broker.create_topics([topic])
    producer = Producer({"bootstrap.servers": bootstrap, "enable.idempotence": True, "acks": "all",
                         "linger.ms": 5})
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": topic, "auto.offset.reset": "earliest"})
    assigned = []
    consumer.subscribe([topic], on_assign=lambda _, partitions: assigned.extend(partitions))
    while not assigned:  # the group join is not part of the loop's throughput
        consumer.poll(0.2)
    value = b"x" * size
    started = time.monotonic()
    for n in range(count):
        producer.produce(topic, key=str(n % 100).encode(), value=value)
        producer.poll(0)
    producer.flush(60)
    received = 0
    while received < count:
        message = consumer.poll(1)
        if message is not None and not message.error():
            received += 1
        if time.monotonic() - started > 300:
            raise TimeoutError(f"bare loop: {received} of {count} messages after 300s")
    elapsed = time.monotonic() - started
    consumer.close()
    return {"messages": count, "bytes_each": size, "seconds": round(elapsed, 2),
            "messages_per_second": round(count / elapsed, 1)}


def render(results: dict) -> str:
    http, events = results["http"], results["events"]
    base = http["baseline"]

    def latency(figures):
        return f"{figures['p50_ms']:.1f} / {figures['p95_ms']:.1f} / {figures['p99_ms']:.1f}"

    def errors(figures):
        bad = figures["non_2xx"] + figures["socket_errors"]
        return f" ({bad} failed)" if bad else ""

    def rate(figures):
        return f"{figures['requests_per_second']:.0f} req/s{errors(figures)}"

    def at_rate(figures):
        return f"{figures['target_rate']:.0f}/s offered{errors(figures)}"

    # Counts per request beside the rates, by row label (in process: SQL statements, commits,
    # Redis commands; split: gRPC calls the payments process made per purchase).
    counted = {}
    rows = [("measure", "figure", "p50 / p95 / p99 ms", "baseline", "ratio")]
    rows.append(("minimal JSON view (baseline)", rate(base), latency(base), "-", "-"))
    counted[rows[-1][0]] = base["counts"]
    for name, label in (("list_cached", "GET /products (cached)"),
                        ("list_uncached", "GET /products (uncached)"),
                        ("list_revalidated", "GET /products (304, If-None-Match)"),
                        ("detail_cached", "GET /products/{id} (cached)"),
                        ("detail_uncached", "GET /products/{id} (uncached)")):
        figures = http[name]
        rows.append((label, rate(figures), latency(figures), f"{base['requests_per_second']:.0f} req/s",
                     f"{figures['requests_per_second'] / base['requests_per_second']:.2f}"))
        counted[label] = figures["counts"]
    mono, equal = http["purchase_monolith"], http["purchase_monolith_one_worker"]
    rows.append(("POST /payments, monolith 2x4, saturated", rate(mono), latency(mono), "-", "-"))
    counted[rows[-1][0]] = mono["counts"]
    rows.append(("POST /payments, monolith, constant rate", at_rate(http["purchase_monolith_rate"]),
                 latency(http["purchase_monolith_rate"]), "-", "-"))
    rows.append(("POST /payments, monolith 1x8, saturated", rate(equal), latency(equal), "-", "-"))
    split = results["split"]["purchase"]
    rows.append(("POST /payments, split 1x8, saturated", rate(split), latency(split),
                 f"{equal['requests_per_second']:.0f} req/s monolith 1x8",
                 f"{split['requests_per_second'] / equal['requests_per_second']:.2f}"))
    counted[rows[-1][0]] = f"{split['grpc_calls_per_purchase']:g} gRPC calls"
    rows.append(("POST /payments, split, constant rate", at_rate(results["split"]["purchase_rate"]),
                 latency(results["split"]["purchase_rate"]), "-", "-"))
    probe = results["notify_commits"]
    after, inside = probe["after_commit"], probe["inside"]
    rows.append((f"commits, {probe['writers']} writers, NOTIFY after",
                 f"{after['commits_per_second']} commits/s", "-",
                 f"{inside['commits_per_second']} commits/s with the NOTIFY inside",
                 f"{after['commits_per_second'] / inside['commits_per_second']:.2f}"))
    counted[rows[-1][0]] = (f"{after['wal_flushes_per_commit']:.2f} WAL flushes "
                            f"({inside['wal_flushes_per_commit']:.2f} inside)")
    rows.extend(event_rows(events))
    for key, label in (("startup_monolith", "monolith (gunicorn)"), ("startup_worker", "Celery worker")):
        start = results[key]
        rss = ", ".join(f"{name} {value:.0f}" for name, value in start["rss_mib"].items())
        rows.append((f"start-up, {label}", f"{start['seconds_to_ready']:.1f} s to ready", "-",
                     f"RSS MiB: {rss}", "-"))
    startup = results["split"]["startup"]
    rows.append(("start-up, split topology", f"{startup['seconds_to_ready']:.1f} s to ready", "-",
                 "Kafka, databases, migrate, every process below", "-"))
    for name, start in startup["processes"].items():
        rss = ", ".join(f"{child} {value:.0f}" for child, value in start["rss_mib"].items())
        rows.append((f"start-up, split {name}", f"{start['seconds_to_ready']:.1f} s to ready", "-",
                     f"{start['cold_start_seconds']:.1f} s in the cold start; RSS MiB: {rss}", "-"))
    lines = table_lines(rows, counted)
    options = results["options"]
    lines.append("")
    lines.append(f"{results['when']}, {results['machine']['cpus']} CPUs, {options['products']} products, "
                 f"wrk {options['connections']} connections x {options['duration']} s per saturated row, "
                 f"{options['rate']:.0f} purchases/s x {options['duration']} s per constant-rate row; "
                 f"{events['events']} events (the monolith run's purchases); split catalogue "
                 f"{options['split_products']} products.")
    return "\n".join(lines)


def event_rows(events: dict) -> list[tuple[str, ...]]:
    bare, per_event, lag = events["bare_kafka"], events["per_event"], events["lag"]
    per_consumed = events["per_consumed"]
    return [
        ("events, outbox -> applied sale", f"{events['events_per_second']:.0f} events/s", "-",
         f"{bare['messages_per_second']:.0f} msg/s bare Kafka",
         f"{events['events_per_second'] / bare['messages_per_second']:.2f}"),
        ("events, cost per purchase event", f"{per_event['statements']:.2f} SQL statements", "-",
         f"{per_event['transactions']:.3f} transactions, {per_event['offset_commits']:.3f} offset commits, "
         f"{per_event['producer_flushes']:.3f} producer flushes", "-"),
        ("events, cost per message consumed", f"{events['consumed_per_event']:.2f} per purchase", "-",
         f"{per_consumed['transactions']:.3f} transactions, "
         f"{per_consumed['offset_commits']:.3f} offset commits", "-"),
        ("events, lag commit -> sale", f"{lag['rate']:.0f}/s offered",
         f"{lag['p50_ms']:.1f} / {lag['p95_ms']:.1f} / {lag['p99_ms']:.1f}",
         f"{lag['events']} purchases", "-"),
    ]


def table_lines(rows: list[tuple[str, ...]], counted: dict | None = None) -> list[str]:
    """The markdown table; `counted` holds the counts per request of some rows, by label."""
    if rows[0][0] != "measure":
        rows = [("measure", "figure", "p50 / p95 / p99 ms", "baseline", "ratio"), *rows]
    rows = [(*row, "per request" if number == 0 else _counts((counted or {}).get(row[0])))
            for number, row in enumerate(rows)]
    widths = [max(len(row[column]) for row in rows) for column in range(6)]
    lines = ["| " + " | ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)) + " |"
             for row in rows]
    lines.insert(1, "|" + "|".join("-" * (width + 2) for width in widths) + "|")
    return lines


def _counts(counts) -> str:
    if counts is None:
        return "-"
    if isinstance(counts, str):
        return counts
    return f"{counts['statements']} SQL, {counts['commits']} commits, {counts['redis']} Redis"


def update_readme(table: str):
    text = README.read_text()
    head, rest = text.split(TABLE_START, 1)
    tail = rest.split(TABLE_END, 1)[1]
    README.write_text(f"{head}{TABLE_START}\n{table}\n{TABLE_END}{tail}")


if __name__ == "__main__":
    main()
