"""Validate the rendered manifests (deploy/<mode>.yaml) and lint the chart.

    .venv-tools/bin/python deploy/validate.py   # prints a JSON report; exit 1 on any error

Core Kubernetes kinds are validated strictly (unknown fields are errors) against the OpenAPI
schemas kubernetes-validate ships. It ships none for custom resources, so the Istio and
Prometheus Operator documents are validated against the cloudcoil models generated from those
projects' CRD schemas, and a field the model drops on the way through (an unknown or misspelled
field) is an error too.
"""

import importlib
import json
import sys
from pathlib import Path

import helm_python
import kubernetes_validate
import yaml

ROOT = Path(__file__).resolve().parents[1]
KUBERNETES_VERSION = "1.33.0"
MODES = ("monolith", "split")

CUSTOM_RESOURCE_MODELS = {
    ("networking.istio.io/v1", "Gateway"): "cloudcoil.models.istio.networking.v1",
    ("networking.istio.io/v1", "VirtualService"): "cloudcoil.models.istio.networking.v1",
    ("networking.istio.io/v1", "DestinationRule"): "cloudcoil.models.istio.networking.v1",
    ("security.istio.io/v1", "PeerAuthentication"): "cloudcoil.models.istio.security.v1",
    ("security.istio.io/v1", "AuthorizationPolicy"): "cloudcoil.models.istio.security.v1",
    ("monitoring.coreos.com/v1", "ServiceMonitor"): "cloudcoil.models.prometheus_operator.v1",
}


def custom_resource_errors(document: dict) -> list[str]:
    module = importlib.import_module(CUSTOM_RESOURCE_MODELS[document["apiVersion"], document["kind"]])
    model = getattr(module, document["kind"])
    try:
        parsed = model.model_validate(document)
    except ValueError as exc:
        return [str(exc)]
    round_trip = parsed.model_dump(mode="json", by_alias=True, exclude_none=True)
    if round_trip == document:
        return []
    return [f"fields the schema does not know: {_diff(document, round_trip)}"]


def _diff(given, kept, path="") -> list[str]:
    if isinstance(given, dict) and isinstance(kept, dict):
        return [p for key in given for p in _diff(given[key], kept.get(key), f"{path}.{key}")]
    if isinstance(given, list) and isinstance(kept, list) and len(given) == len(kept):
        pairs = enumerate(zip(given, kept, strict=True))
        return [p for i, (g, k) in pairs for p in _diff(g, k, f"{path}[{i}]")]
    return [] if given == kept else [path]


def document_errors(document: dict) -> list[str]:
    if (document["apiVersion"], document["kind"]) in CUSTOM_RESOURCE_MODELS:
        return custom_resource_errors(document)
    try:
        kubernetes_validate.validate(document, KUBERNETES_VERSION, strict=True)
    except kubernetes_validate.ValidationError as exc:
        return [exc.message]
    except kubernetes_validate.SchemaNotFoundError as exc:
        return [str(exc)]
    return []


def report() -> dict:
    result = {}
    for mode in MODES:
        documents = list(yaml.safe_load_all((ROOT / "deploy" / f"{mode}.yaml").read_text()))
        errors = [
            f"{doc['kind']}/{doc['metadata']['name']}: {error}"
            for doc in documents
            for error in document_errors(doc)
        ]
        lint = helm_python.lint(ROOT / "charts" / "shop", {"mode": mode}, strict=True)
        errors += [message["error"] for message in lint["messages"] if message["severity"] >= 2]
        errors += lint["errors"]
        result[mode] = {"documents": len(documents), "errors": errors}
    return result


if __name__ == "__main__":
    outcome = report()
    print(json.dumps(outcome, indent=2))
    sys.exit(1 if any(mode["errors"] for mode in outcome.values()) else 0)
