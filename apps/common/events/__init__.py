"""Domain events between apps: the CloudEvents envelope and each app's declared event types and
handlers (`envelope`), the transactional outbox and idempotent application (`outbox`), the relay
that moves committed rows to Kafka or to in-process handlers (`relay`), the Kafka consumers
(`consumers`) and client settings (`kafka`), dead letters (`dead_letters`), and the loops that
run them for the life of a worker (`background`). The how and why: docs/events.md.
"""
