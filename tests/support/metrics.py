"""Reading this process's Prometheus metrics in a test."""

import prometheus_client


def sample(name: str, **labels) -> float:
    """The current value of a metric sample in this process (0 when never set)."""
    return prometheus_client.REGISTRY.get_sample_value(name, labels) or 0.0
