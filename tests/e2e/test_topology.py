"""The test topology's own state: a run starts without what an earlier run left in the shared Redis."""

import uuid

import redis
from django.conf import settings

from tests.support.split import Topology


def test_a_fresh_topology_deletes_its_groups_redis_keys_and_no_one_elses(tmp_path):
    prefix = f"scratch_{uuid.uuid4().hex[:8]}"
    topology = Topology("split", database_prefix=prefix, postgres_url="", redis_url=settings.REDIS_URL,
                        secrets={}, log_dir=tmp_path)
    earlier_run = [f"{prefix}-users:1:throttle_register_ip_127.0.0.1",  # a rate-limit counter
                   f"{prefix}-payments"]  # a Celery queue
    neighbour = f"{prefix}_other-users:1:throttle_register_ip_127.0.0.1"
    with redis.Redis.from_url(settings.REDIS_URL) as client:
        for key in [*earlier_run, neighbour]:
            client.rpush(key, "1")
        try:
            topology.delete_redis_keys()
            assert [client.exists(key) for key in earlier_run] == [0, 0]
            assert client.exists(neighbour) == 1
        finally:
            client.delete(*earlier_run, neighbour)
