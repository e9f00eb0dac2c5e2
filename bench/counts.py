"""What one request costs in round trips, counted in process on the bench's databases: SQL
statements, commits (explicit, plus statements run outside a transaction) and Redis commands
(cache and Celery's broker). Counts do not depend on the machine's load, unlike the rates
`bench/run.py` prints beside them.
"""

import functools
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass

from django.db import connections
from django.test import Client
from redis.connection import AbstractConnection


@dataclass
class Counts:
    statements: int = 0
    commits: int = 0
    redis: int = 0

    def as_dict(self) -> dict:
        return {"statements": self.statements, "commits": self.commits, "redis": self.redis}


@contextmanager
def counting():
    """Count what runs inside the block, on every database alias and every Redis connection."""
    counts = Counts()

    def execute(run, sql, params, many, context):
        counts.statements += 1
        if not context["connection"].in_atomic_block:
            counts.commits += 1  # autocommit: the statement is its own transaction
        return run(sql, params, many, context)

    def commit(original):
        @functools.wraps(original)
        def counted():
            counts.commits += 1
            return original()
        return counted

    send = AbstractConnection.send_packed_command

    def send_counted(self, *args, **kwargs):
        counts.redis += 1
        return send(self, *args, **kwargs)

    with ExitStack() as stack:
        for connection in connections.all():
            stack.enter_context(connection.execute_wrapper(execute))
            connection.commit = commit(connection.commit)
            stack.callback(vars(connection).pop, "commit")
        AbstractConnection.send_packed_command = send_counted
        stack.callback(setattr, AbstractConnection, "send_packed_command", send)
        yield counts


def request_counts(method: str, path: str, *, warm: bool = False, **extra) -> dict:
    """The counts of one request through Django's full stack (middleware included); `warm` sends
    it twice first, so the counted one is a cache hit as a running server serves it (the catalogue
    holds an entry in the process once its subscription to the bumps is confirmed)."""
    client = Client(HTTP_HOST="127.0.0.1")
    for _ in range(2 if warm else 0):
        client.generic(method, path, **extra)
    with counting() as counts:
        response = client.generic(method, path, **extra)
    return {"status": response.status_code, **counts.as_dict()}
