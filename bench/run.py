"""`make bench`: measure the shop on this machine, each figure next to a baseline from the same run.

Starts everything it measures itself: fresh PostgreSQL databases `bench_*`, Redis db 14, a Tansu
Kafka broker, the monolith under gunicorn (`-c config/gunicorn.py`, 2 workers x 4 threads, as
`make run`) and a Celery worker. Load comes from wrk (bench/wrk/requests.lua). Prints one
table, writes bench/results/<UTC time>.json and the table into bench/README.md.
"""

import argparse
import json
import os
import secrets
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import psutil
import psycopg
import requests

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from config.jwt_keys import generate_private_pem  # noqa: E402
from tests.support.kafka import KafkaBroker  # noqa: E402
from tests.support.processes import ServerProcess, free_port, start_process  # noqa: E402

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


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--products", type=int, default=20_000, help="catalogue size (seed_demo)")
    parser.add_argument("--duration", type=int, default=10, help="seconds per wrk run")
    parser.add_argument("--connections", type=int, default=16, help="wrk's fixed concurrency")
    options = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="shop-bench-"))
    broker = KafkaBroker().start()
    env = {
        **{name: f"{PG}/{database}" for name, database in DATABASES.items()},
        "REDIS_URL": REDIS_URL, "CACHE_KEY_PREFIX": "bench",
        "KAFKA_BOOTSTRAP_SERVERS": broker.bootstrap_servers,
        "JWT_SIGNING_KEY": generate_private_pem(), "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
        "SERVICE_AUTH_SECRET": secrets.token_urlsafe(50), "BENCH_BASELINE_VIEW": "1",
        "VAR_DIR": str(work), "DJANGO_SETTINGS_MODULE": "config.settings",
    }
    os.environ.update(env)
    results = {"when": datetime.now(UTC).isoformat(timespec="seconds"), "machine": machine(),
               "options": vars(options)}
    server = worker = None
    try:
        prepare(options.products)
        import django

        django.setup()
        server, results["startup_monolith"] = start_monolith()
        results["http"] = measure_http(server, work, options)
        worker, results["startup_worker"] = start_worker()
        results["events"] = measure_events(broker)
    finally:
        for process in (worker, server):
            if process:
                process.stop(timeout=30)
        broker.stop()
    results["split"] = "not measured yet: the bench does not start tests/support/split.py"
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


def start_monolith() -> tuple[ServerProcess, dict]:
    port = free_port()
    started = time.monotonic()
    server = start_process("bench-monolith", [
        sys.executable, "-m", "gunicorn", "-c", "config/gunicorn.py", "config.wsgi:application",
        "--bind", f"127.0.0.1:{port}", "--workers", "2", "--threads", "4", "--worker-class", "gthread",
    ], {}, port)
    wait(lambda: requests.get(f"{server.url}/readyz", timeout=1).status_code == 200, server, "/readyz 200")
    return server, {"seconds_to_ready": round(time.monotonic() - started, 2), **memory(server.process.pid)}


def start_worker() -> tuple[ServerProcess, dict]:
    started = time.monotonic()
    worker = start_process("bench-worker", [
        sys.executable, "-m", "celery", "-A", "config", "worker", "-Q", EVENTS_QUEUE, "--concurrency", "1",
        "--loglevel", "INFO",
    ], {"METRICS_PORT": str(free_port())}, 0)
    wait(lambda: "consumer shop-inventory reading" in worker.log(), worker, "its consumers")
    return worker, {"seconds_to_ready": round(time.monotonic() - started, 2), **memory(worker.process.pid)}


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
    from apps.common.tokens import AccessToken
    from apps.inventory.interface import StockLine, receive_stock
    from apps.products.models import Product

    active = Product.objects.filter(status="active").order_by("sku")
    ids = [str(pk) for pk in active.values_list("id", flat=True)]
    listing = "/api/v1/products?page=1"
    for path in (listing, f"/api/v1/products/{ids[0]}"):  # fill the cache for the cached runs
        assert requests.get(server.url + path, timeout=10).status_code == 200

    runs = {
        "baseline": ["/bench/baseline"],
        "list_cached": [listing],
        # The same query as the cached list; a parameter the view ignores makes each URL its own key.
        "list_uncached": (f"{listing}&nocache={n}" for n in range(200_000)),
        "detail_cached": [f"/api/v1/products/{ids[0]}"],
        # Every product once: each request misses the cache while the run stays under len(ids).
        "detail_uncached": (f"/api/v1/products/{pk}" for pk in ids),
    }
    figures = {}
    for name, lines in runs.items():
        figures[name] = wrk(server.url, request_file(work, name, lines), options)
        print(f"{name}: {figures[name]}", flush=True)
    figures["detail_uncached"]["distinct_ids"] = len(ids)

    # The purchase: one unit of one of 100 products per request, each a fresh Idempotency-Key.
    bought = ids[:100]
    receive_stock(f"bench-{uuid.uuid4()}", [StockLine(uuid.UUID(pk), 1_000_000) for pk in bought],
                  reason="bench stock")
    token = AccessToken()
    token["user_id"], token["is_staff"] = str(uuid.uuid4()), False
    body = lambda pk: json.dumps({"items": [{"product_id": pk, "quantity": 1}],  # noqa: E731
                                  "payment_method": {"token": "tok_visa"}})
    figures["purchase_monolith"] = wrk(
        server.url, request_file(work, "purchase", (f"/api/v1/payments\t{body(pk)}" for pk in bought)),
        options, BENCH_METHOD="POST", BENCH_AUTH=f"Bearer {token}", BENCH_RUN_ID=uuid.uuid4().hex,
    )
    print(f"purchase_monolith: {figures['purchase_monolith']}", flush=True)
    return figures


def measure_events(broker: KafkaBroker) -> dict:
    """Drain the purchases' outbox through Kafka into sales, against a bare Kafka loop."""
    from apps.inventory.models import StockAdjustment
    from apps.payments.models import OutboxEvent

    outbox = OutboxEvent.objects.filter(type="payments.purchase_completed", sent_at__isnull=True)
    events = outbox.count()
    payload_bytes = len(json.dumps(outbox.first().payload).encode())
    sales = StockAdjustment.objects.filter(kind=StockAdjustment.Kind.SALE)
    started = time.monotonic()
    from apps.common.tasks import relay_outbox_task

    relay_outbox_task.apply_async(("payments",), queue=EVENTS_QUEUE)
    while sales.count() < events:
        if time.monotonic() - started > 600:
            raise TimeoutError(f"{sales.count()} of {events} sales applied after 600s")
        time.sleep(0.1)
    elapsed = time.monotonic() - started
    bare = bare_kafka_loop(broker, events, payload_bytes)
    return {"events": events, "seconds": round(elapsed, 2), "events_per_second": round(events / elapsed, 1),
            "bare_kafka": bare}


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

    rows = [("measure", "figure", "p50 / p95 / p99 ms", "baseline", "ratio")]
    rows.append(("minimal JSON view (baseline)", f"{base['requests_per_second']:.0f} req/s{errors(base)}",
                 latency(base), "-", "-"))
    for name, label in (("list_cached", "GET /products (cached)"),
                        ("list_uncached", "GET /products (uncached)"),
                        ("detail_cached", "GET /products/{id} (cached)"),
                        ("detail_uncached", "GET /products/{id} (uncached)")):
        figures = http[name]
        rows.append((label, f"{figures['requests_per_second']:.0f} req/s{errors(figures)}", latency(figures),
                     f"{base['requests_per_second']:.0f} req/s",
                     f"{figures['requests_per_second'] / base['requests_per_second']:.2f}"))
    mono = http["purchase_monolith"]
    rows.append(("POST /payments, monolith", f"{mono['requests_per_second']:.0f} req/s{errors(mono)}",
                 latency(mono), "-", "-"))
    rows.append(("POST /payments, split", "not measured yet", "-", "monolith", "-"))
    bare = events["bare_kafka"]
    rows.append(("events, outbox -> applied sale", f"{events['events_per_second']:.0f} events/s", "-",
                 f"{bare['messages_per_second']:.0f} msg/s bare Kafka",
                 f"{events['events_per_second'] / bare['messages_per_second']:.2f}"))
    for key, label in (("startup_monolith", "monolith (gunicorn)"), ("startup_worker", "Celery worker")):
        start = results[key]
        rss = ", ".join(f"{name} {value:.0f}" for name, value in start["rss_mib"].items())
        rows.append((f"start-up, {label}", f"{start['seconds_to_ready']:.1f} s to ready", "-",
                     f"RSS MiB: {rss}", "-"))
    widths = [max(len(row[column]) for row in rows) for column in range(5)]
    lines = ["| " + " | ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)) + " |"
             for row in rows]
    lines.insert(1, "|" + "|".join("-" * (width + 2) for width in widths) + "|")
    options = results["options"]
    lines.append("")
    lines.append(f"{results['when']}, {results['machine']['cpus']} CPUs, {options['products']} products, "
                 f"wrk {options['connections']} connections x {options['duration']} s per row; "
                 f"{events['events']} events (the monolith run's purchases).")
    return "\n".join(lines)


def update_readme(table: str):
    text = README.read_text()
    head, rest = text.split(TABLE_START, 1)
    tail = rest.split(TABLE_END, 1)[1]
    README.write_text(f"{head}{TABLE_START}\n{table}\n{TABLE_END}{tail}")


if __name__ == "__main__":
    main()
