"""The image's HEALTHCHECK: probes whatever role this container runs (PID 1's command)."""

import socket
import sys
import urllib.request
from pathlib import Path


def main() -> int:
    command = Path("/proc/1/cmdline").read_bytes().replace(b"\0", b" ").decode()
    if "gunicorn" in command:
        request = urllib.request.Request("http://127.0.0.1:8000/healthz", headers={"Host": "localhost"})
        with urllib.request.urlopen(request, timeout=3) as response:  # noqa: S310 (fixed local URL)
            return 0 if response.status == 200 else 1
    if "grpcserve" in command:
        with socket.create_connection(("127.0.0.1", 50051), timeout=3):
            return 0
    # Celery worker/beat and one-shot commands: the container lives exactly as long as they do.
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except OSError as exc:
        print(f"unhealthy: {exc}", file=sys.stderr)
        sys.exit(1)
