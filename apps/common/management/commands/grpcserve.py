"""`python manage.py grpcserve`: serve this process's apps over gRPC until SIGTERM."""

import signal
import threading

from django.conf import settings
from django.core.management.base import BaseCommand

from apps.common.observability import metrics
from config.service_apps import served_apps
from config.startup import freeze_startup_objects
from grpc_api.server import build_server


class Command(BaseCommand):
    help = "Serve the gRPC servicers of the apps in SERVICE_APPS, plus health and reflection."

    def add_arguments(self, parser):
        parser.add_argument("--port", type=int, default=settings.GRPC_PORT,
                            help="port to listen on (default: GRPC_PORT, else 50051)")
        parser.add_argument("--max-workers", type=int, default=16, help="RPC handler threads")
        parser.add_argument("--grace", type=float, default=10.0,
                            help="seconds in-flight RPCs get to finish on shutdown")
        parser.add_argument("--readiness-interval", type=float, default=5.0,
                            help="seconds between readiness checks once ready (gRPC health reports them)")
        parser.add_argument("--readiness-retry", type=float, default=0.15,
                            help="seconds between readiness checks while not ready")

    def handle(self, *args, port, max_workers, grace, readiness_interval, readiness_retry, **options):
        server, health_servicer = build_server(served_apps(), max_workers)
        freeze_startup_objects()
        address = f"[{settings.GRPC_ADDRESS}]" if ":" in settings.GRPC_ADDRESS else settings.GRPC_ADDRESS
        if server.add_insecure_port(f"{address}:{port}") == 0:
            raise OSError(f"cannot listen on {address}:{port}")
        stopping = threading.Event()
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, lambda *_: stopping.set())
        # Serve at once (liveness answers); readiness turns SERVING as soon as this process's own
        # dependencies answer, checked in the background, never waiting on a peer.
        server.start()
        threading.Thread(target=health_servicer.follow_readiness, name="readiness", daemon=True,
                         args=(stopping, readiness_interval, readiness_retry)).start()
        metrics.start_exporter()
        self.stdout.write(f"gRPC serving {', '.join(served_apps())} on {address}:{port}")
        self.stdout.flush()
        stopping.wait()
        # Probes see NOT_SERVING first, so the mesh stops routing here while in-flight RPCs finish.
        health_servicer.enter_graceful_shutdown()
        server.stop(grace).wait()
        self.stdout.write("gRPC server stopped")
