"""Kafka as MSK runs it: topics created with the configured partitions, replication and
min.insync.replicas (checked against the broker), and TLS/SASL settings handed to every client."""

import base64
import time
import uuid
from urllib.parse import parse_qs, urlsplit

import pytest
from confluent_kafka import Consumer, Producer
from confluent_kafka.admin import AdminClient, ConfigResource

from apps.common.events import kafka
from tests.support.kafka import client_config
from tests.support.processes import manage

SASL_SETTINGS = {"KAFKA_SECURITY_PROTOCOL": "PLAINTEXT", "KAFKA_SASL_MECHANISM": None,
                 "KAFKA_SASL_USERNAME": None, "KAFKA_SASL_PASSWORD": None, "AWS_REGION": None}


def test_new_topics_get_the_configured_partitions_replication_and_min_insync_replicas(
        kafka_settings, kafka_broker):
    kafka_settings.KAFKA_PARTITIONS = 2
    # The broker's default is 1: a different value shows the setting reached the topic. (With one
    # broker the cluster could not satisfy it; settings refuse it above the replication factor.)
    kafka_settings.KAFKA_MIN_INSYNC_REPLICAS = 2
    topic = f"settings-{uuid.uuid4().hex[:8]}.events"

    assert kafka.ensure_topics([topic]) == sorted([topic, f"{topic}.dlq"])

    admin = AdminClient(client_config(kafka_broker.bootstrap_servers))
    metadata = admin.list_topics(timeout=10)
    for name in (topic, f"{topic}.dlq"):
        partitions = metadata.topics[name].partitions
        assert len(partitions) == 2
        assert {len(partition.replicas) for partition in partitions.values()} == {1}
    described = admin.describe_configs([ConfigResource(ConfigResource.Type.TOPIC, topic)])
    config = next(iter(described.values())).result(timeout=10)
    assert config["min.insync.replicas"].value == "2"


def test_a_replication_factor_above_the_broker_count_is_a_clear_error(kafka_settings, kafka_broker, client):
    kafka_settings.KAFKA_REPLICATION_FACTOR = 3
    with pytest.raises(kafka.KafkaConfigError, match=r"KAFKA_REPLICATION_FACTOR is 3 but .* has 1 broker"):
        kafka.ensure_topics([f"settings-{uuid.uuid4().hex[:8]}.events"])
    assert "KAFKA_REPLICATION_FACTOR is 3" in client.get("/readyz").json()["checks"]["kafka"]

    refused = manage(["create_topics"], {"KAFKA_BOOTSTRAP_SERVERS": kafka_broker.bootstrap_servers,
                                         "KAFKA_REPLICATION_FACTOR": "3", "KAFKA_MIN_INSYNC_REPLICAS": "2"})
    assert refused.returncode != 0
    assert "KAFKA_REPLICATION_FACTOR is 3 but" in refused.stderr


def test_scram_over_tls_reaches_every_client(settings):
    settings.KAFKA_BOOTSTRAP_SERVERS = "b-1.example:9096"
    settings.KAFKA_SECURITY_PROTOCOL = "SASL_SSL"
    settings.KAFKA_SASL_MECHANISM = "SCRAM-SHA-512"
    settings.KAFKA_SASL_USERNAME, settings.KAFKA_SASL_PASSWORD = "shop", "s3cret"

    config = kafka.client_config()

    assert {key: value for key, value in config.items() if key != "logger"} == {
        "bootstrap.servers": "b-1.example:9096", "security.protocol": "SASL_SSL",
        "sasl.mechanism": "SCRAM-SHA-512", "sasl.username": "shop", "sasl.password": "s3cret",
    }
    # librdkafka accepts every key (it refuses unknown ones); no connection is made yet.
    Producer(config).flush(0)
    Consumer({**config, "group.id": "settings"}).close()
    AdminClient(config)


def test_msk_iam_signs_a_token_for_oauthbearer(settings, monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAEXAMPLEEXAMPLE12")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")
    monkeypatch.delenv("AWS_SESSION_TOKEN", raising=False)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    settings.KAFKA_BOOTSTRAP_SERVERS = "b-1.example:9098"
    settings.KAFKA_SECURITY_PROTOCOL = "SASL_SSL"
    settings.KAFKA_SASL_MECHANISM = "OAUTHBEARER"
    settings.AWS_REGION = "eu-west-1"

    config = kafka.client_config()
    assert config["sasl.mechanism"] == "OAUTHBEARER" and "sasl.username" not in config
    token, expires = config["oauth_cb"]("")  # as librdkafka calls it, with sasl.oauthbearer.config

    assert time.time() < expires < time.time() + 3600
    url = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
    parts = urlsplit(url)
    query = parse_qs(parts.query)
    assert parts.hostname == "kafka.eu-west-1.amazonaws.com"
    assert query["Action"] == ["kafka-cluster:Connect"]
    assert query["X-Amz-Credential"][0].startswith("AKIAEXAMPLEEXAMPLE12/")
    assert "/eu-west-1/kafka-cluster/" in query["X-Amz-Credential"][0]
    Producer(config).flush(0)  # librdkafka takes the callback


@pytest.mark.parametrize(("env", "named"), [
    ({"KAFKA_SECURITY_PROTOCOL": "SASL_SSL"}, "KAFKA_SASL_MECHANISM"),
    ({"KAFKA_SECURITY_PROTOCOL": "TLS"}, "KAFKA_SECURITY_PROTOCOL"),
    ({"KAFKA_SECURITY_PROTOCOL": "SASL_SSL", "KAFKA_SASL_MECHANISM": "SCRAM-SHA-512",
      "KAFKA_SASL_USERNAME": "shop"}, "KAFKA_SASL_PASSWORD"),
    ({"KAFKA_SECURITY_PROTOCOL": "SASL_SSL", "KAFKA_SASL_MECHANISM": "OAUTHBEARER"}, "AWS_REGION"),
    ({"KAFKA_REPLICATION_FACTOR": "3", "KAFKA_MIN_INSYNC_REPLICAS": "4"}, "KAFKA_MIN_INSYNC_REPLICAS"),
])
def test_an_inconsistent_kafka_setting_stops_start_up_naming_it(env, named):
    result = manage(["check"], {**{name: "" for name in SASL_SETTINGS}, "AWS_REGION": "", **env})
    assert result.returncode != 0
    assert named in result.stderr.strip().splitlines()[-1]
