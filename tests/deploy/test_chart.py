"""The Helm chart and its rendered manifests (deploy/<mode>.yaml) for both modes."""

import json
import os
from collections import Counter

import pytest

from config.routes import GRPC_CALLERS, ROUTES, app_for_path
from tests.deploy.tools import env_of, manifests, render_chart, run_tool, schema_errors

APPS = tuple(ROUTES)
NAMESPACE = "shop"


def by_kind(documents, kind):
    return [doc for doc in documents if doc["kind"] == kind]


def component_of(doc):
    return doc["metadata"]["labels"]["app.kubernetes.io/component"]


def test_committed_routes_and_manifests_match_the_route_table_and_chart():
    """Helm's own engine renders the chart in both modes, byte for byte the committed output."""
    result = run_tool("python", "deploy/render.py", "--check")
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_rendered_document_validates_against_its_schema():
    """Core kinds against the Kubernetes OpenAPI schemas (strict); Istio and ServiceMonitor
    against models generated from their CRD schemas (see deploy/validate.py); helm lint --strict."""
    result = run_tool("python", "deploy/validate.py")
    report = json.loads(result.stdout)
    assert report["monolith"] == {"documents": len(manifests("monolith")), "errors": []}
    assert report["split"] == {"documents": len(manifests("split")), "errors": []}
    assert result.returncode == 0


def test_an_unknown_mode_is_refused():
    code = (
        "import helm_python\n"
        "try:\n"
        "    helm_python.Chart.load('charts/shop').render({'mode': 'both'}, name='shop')\n"
        "except helm_python.HelmError as exc:\n"
        "    print(exc)\n"
    )
    result = run_tool("python", "-c", code)
    assert "mode" in result.stdout, result.stdout + result.stderr


def test_split_mode_runs_exactly_one_web_deployment_per_app_serving_only_that_app():
    deployments = by_kind(manifests("split"), "Deployment")
    for role in ("web", "worker", "beat"):
        of_role = [d for d in deployments if component_of(d) == role]
        assert Counter(d["metadata"]["labels"]["shop/service"] for d in of_role) == Counter(APPS)
        for deployment in of_role:
            app = deployment["metadata"]["labels"]["shop/service"]
            for container in deployment["spec"]["template"]["spec"]["containers"]:
                assert env_of(container)["SERVICE_APPS"] == app


def test_split_web_pods_serve_http_and_grpc_with_probes_and_limits():
    for deployment in (d for d in by_kind(manifests("split"), "Deployment") if component_of(d) == "web"):
        pod = deployment["spec"]["template"]["spec"]
        containers = {c["name"]: c for c in pod["containers"]}
        assert containers["http"]["livenessProbe"]["httpGet"]["path"] == "/healthz"
        assert containers["http"]["readinessProbe"]["httpGet"]["path"] == "/readyz"
        assert containers["grpc"]["command"] == ["python", "manage.py", "grpcserve"]
        assert {p["containerPort"] for p in containers["grpc"]["ports"]} == {50051, 9100}
        # gRPC liveness never follows the dependencies (apps/common/observability/health.py); readiness does.
        grpc_probes = {probe: containers["grpc"][probe]["grpc"].get("service", "")
                       for probe in ("startupProbe", "livenessProbe", "readinessProbe")}
        assert grpc_probes == {"startupProbe": "liveness", "livenessProbe": "liveness", "readinessProbe": ""}
        for container in containers.values():
            assert container["resources"]["limits"] and container["resources"]["requests"]
            assert container["securityContext"]["readOnlyRootFilesystem"] is True
        assert pod["securityContext"]["runAsNonRoot"] is True
        assert pod["serviceAccountName"] == deployment["metadata"]["name"]


def test_monolith_mode_runs_one_web_deployment_serving_every_app():
    documents = manifests("monolith")
    web = [d for d in by_kind(documents, "Deployment") if component_of(d) == "web"]
    assert len(web) == 1
    (http,) = web[0]["spec"]["template"]["spec"]["containers"]
    assert env_of(http)["SERVICE_APPS"] == ",".join(APPS)
    assert not any(name.endswith("_GRPC_TARGET") for name in env_of(http))
    assert len(by_kind(documents, "Job")) == 1


@pytest.mark.parametrize("mode", ["monolith", "split"])
def test_each_component_has_a_migration_hook_job_and_its_scaling_objects(mode):
    documents = manifests(mode)
    components = {d["metadata"]["labels"]["shop/service"] for d in by_kind(documents, "ServiceAccount")}
    jobs = by_kind(documents, "Job")
    assert {j["metadata"]["labels"]["shop/service"] for j in jobs} == components
    for job in jobs:
        assert job["metadata"]["annotations"]["helm.sh/hook"] == "pre-install,pre-upgrade"
        (container,) = job["spec"]["template"]["spec"]["containers"]
        assert container["command"][:3] == ["python", "manage.py", "migrate"]
    deployments = {d["metadata"]["name"] for d in by_kind(documents, "Deployment")}
    scaled = {h["spec"]["scaleTargetRef"]["name"] for h in by_kind(documents, "HorizontalPodAutoscaler")}
    assert scaled == {name for name in deployments if not name.endswith("-beat")}
    assert {p["metadata"]["name"] for p in by_kind(documents, "PodDisruptionBudget")} == scaled


def services_by_host(documents):
    return {
        f"{s['metadata']['name']}.{s['metadata']['namespace']}.svc.cluster.local": s
        for s in by_kind(documents, "Service")
    }


@pytest.mark.parametrize("mode", ["monolith", "split"])
def test_every_istio_route_points_at_a_service_port_that_exists(mode):
    documents = manifests(mode)
    services = services_by_host(documents)
    (virtual_service,) = by_kind(documents, "VirtualService")
    destinations = [r["destination"] for http in virtual_service["spec"]["http"] for r in http["route"]]
    assert destinations
    for destination in destinations:
        ports = {p["port"] for p in services[destination["host"]]["spec"]["ports"]}
        assert destination["port"]["number"] in ports
    gateways = {g["metadata"]["name"] for g in by_kind(documents, "Gateway")}
    assert set(virtual_service["spec"]["gateways"]) <= gateways
    for rule in by_kind(documents, "DestinationRule"):
        assert rule["spec"]["host"] in services
        assert rule["spec"]["trafficPolicy"]["outlierDetection"]


def route_for(virtual_service, path):
    """The first route whose match takes `path`, as Istio evaluates them."""
    for http in virtual_service["spec"]["http"]:
        for match in http["match"]:
            uri = match["uri"]
            if uri.get("exact") == path or ("prefix" in uri and path.startswith(uri["prefix"])):
                return http["route"][0]["destination"]["host"]
    return None


@pytest.mark.parametrize("path", [p + suffix for ps in ROUTES.values() for p in ps for suffix in ("", "/x/y")]
                         + ["/api/v1/usersx", "/api/v1/productsearch", "/admin/"])
def test_split_routes_send_each_path_to_the_app_the_route_table_names(path):
    (virtual_service,) = by_kind(manifests("split"), "VirtualService")
    app = app_for_path(path)
    expected = f"shop-{app}.{NAMESPACE}.svc.cluster.local" if app else None
    assert route_for(virtual_service, path) == expected


def test_grpc_targets_of_each_app_are_services_with_a_grpc_port():
    documents = manifests("split")
    services = services_by_host(documents)
    for deployment in by_kind(documents, "Deployment"):
        for container in deployment["spec"]["template"]["spec"]["containers"]:
            targets = {k: v for k, v in env_of(container).items() if k.endswith("_GRPC_TARGET")}
            served = env_of(container)["SERVICE_APPS"]
            assert set(targets) == {f"{app.upper()}_GRPC_TARGET" for app in APPS if app != served}
            for target in targets.values():
                host, port = target.rsplit(":", 1)
                grpc_ports = [p["port"] for p in services[host]["spec"]["ports"] if p["name"] == "grpc"]
                assert grpc_ports == [int(port)]


def test_authorization_policies_let_in_on_grpc_only_the_callers_of_each_app():
    documents = manifests("split")
    accounts = {a["metadata"]["name"] for a in by_kind(documents, "ServiceAccount")}
    policies = {p["metadata"]["name"]: p for p in by_kind(documents, "AuthorizationPolicy")}
    for app in APPS:
        policy = policies[f"shop-{app}"]
        assert policy["spec"]["action"] == "ALLOW"
        grpc_rules = [r for r in policy["spec"]["rules"] if r["to"][0]["operation"]["ports"] == ["50051"]]
        callers = {
            principal.rsplit("/sa/", 1)[1]
            for rule in grpc_rules
            for source in rule["from"]
            for principal in source["source"]["principals"]
        }
        assert callers == {f"shop-{caller}" for caller in GRPC_CALLERS[app]}
        assert callers <= accounts
    (peer,) = by_kind(documents, "PeerAuthentication")
    assert peer["spec"]["mtls"]["mode"] == "STRICT"


def test_network_policies_let_in_on_grpc_only_the_callers_of_each_app():
    policies = {p["metadata"]["name"]: p for p in by_kind(manifests("split"), "NetworkPolicy")}
    assert policies["shop-default-deny"]["spec"]["policyTypes"] == ["Ingress"]
    for app in APPS:
        grpc_sources = [
            expression["values"]
            for rule in policies[f"shop-{app}"]["spec"]["ingress"]
            if {"port": 50051, "protocol": "TCP"} in rule["ports"]
            for peer in rule["from"]
            for expression in peer["podSelector"]["matchExpressions"]
            if expression["key"] == "shop/service"
        ]
        assert grpc_sources == ([list(GRPC_CALLERS[app])] if GRPC_CALLERS[app] else [])


def test_service_monitor_scrapes_http_and_exporter_ports():
    (monitor,) = by_kind(manifests("split"), "ServiceMonitor")
    assert {(e["port"], e["path"]) for e in monitor["spec"]["endpoints"]} == {
        ("http", "/metrics"), ("metrics", "/metrics")
    }


def containers_of(documents):
    for workload in by_kind(documents, "Deployment") + by_kind(documents, "Job"):
        for container in workload["spec"]["template"]["spec"]["containers"]:
            yield workload, container


@pytest.mark.parametrize("mode", ["monolith", "split"])
def test_every_gunicorn_runs_with_its_config_and_grpc_and_metrics_bind_the_pod_ip(mode):
    gunicorns = 0
    for _workload, container in containers_of(manifests(mode)):
        command = container["command"]
        if command[0] == "gunicorn":
            gunicorns += 1
            assert "--config=config/gunicorn.py" in command
            assert "--bind=0.0.0.0:8000" in command  # the pod IP and loopback (port-forward)
        env = env_of(container)
        assert env["GRPC_ADDRESS"] == env["METRICS_ADDRESS"] == "$(POD_IP)"
        (pod_ip,) = [item for item in container["env"] if item["name"] == "POD_IP"]
        assert pod_ip["valueFrom"]["fieldRef"]["fieldPath"] == "status.podIP"
    assert gunicorns == (1 if mode == "monolith" else len(APPS))


@pytest.mark.parametrize("mode", ["monolith", "split"])
def test_celery_worker_and_beat_write_metrics_to_a_multiprocess_directory_of_their_own(mode):
    for workload, container in containers_of(manifests(mode)):
        role = component_of(workload)
        directory = env_of(container).get("PROMETHEUS_MULTIPROC_DIR")
        if role not in ("worker", "beat"):
            assert directory is None  # gunicorn's config makes its own; single processes need none
            continue
        mounts = {m["mountPath"]: m["name"] for m in container["volumeMounts"]}
        volumes = {v["name"]: v for v in workload["spec"]["template"]["spec"]["volumes"]}
        assert "emptyDir" in volumes[mounts[directory]]


@pytest.mark.parametrize("mode", ["monolith", "split"])
def test_topics_are_created_as_msk_needs_them(mode):
    for _workload, container in containers_of(manifests(mode)):
        env = env_of(container)
        assert (env["KAFKA_REPLICATION_FACTOR"], env["KAFKA_MIN_INSYNC_REPLICAS"]) == ("3", "2")
        assert int(env["KAFKA_PARTITIONS"]) >= 1


@pytest.mark.parametrize("mode", ["monolith", "split"])
@pytest.mark.parametrize("path", ["/metrics", "/readyz", "/healthz", "/", "/api/schema/", "/api/docs/",
                                  "/api/v1x", "/adminx"])
def test_the_gateway_never_routes_operational_or_internal_paths(mode, path):
    (virtual_service,) = by_kind(manifests(mode), "VirtualService")
    assert route_for(virtual_service, path) is None


@pytest.mark.parametrize("path", ["/api/v1", "/api/v1/products", "/api/v1/payments/x", "/admin/",
                                  "/admin/login/", "/static/admin/css/base.css"])
def test_the_monolith_gateway_routes_the_public_api_and_the_staff_admin(path):
    (virtual_service,) = by_kind(manifests("monolith"), "VirtualService")
    assert route_for(virtual_service, path) == f"shop-monolith.{NAMESPACE}.svc.cluster.local"


CANARIES = {"monolith": "monolith", "split": "payments"}


@pytest.mark.parametrize("mode", ["monolith", "split"])
def test_a_canary_value_runs_a_second_deployment_and_splits_its_traffic_by_weight(mode):
    component = CANARIES[mode]
    documents = render_chart(mode, {"canary": {component: {"tag": "0.2.0", "weight": 10}}})
    assert schema_errors(documents) == []
    web = {d["metadata"]["name"]: d for d in by_kind(documents, "Deployment") if component_of(d) == "web"}
    stable, canary = web[f"shop-{component}"], web[f"shop-{component}-canary"]
    images = [d["spec"]["template"]["spec"]["containers"][0]["image"] for d in (stable, canary)]
    assert images == ["ghcr.io/shop/shop:0.1.0", "ghcr.io/shop/shop:0.2.0"]
    assert canary["spec"]["replicas"] == 1
    # Each Deployment owns only its own pods; the Service sends to both.
    pod_labels = {name: d["spec"]["template"]["metadata"]["labels"] for name, d in web.items()}
    for name, deployment in web.items():
        selector = deployment["spec"]["selector"]["matchLabels"].items()
        assert [other for other, labels in pod_labels.items() if selector <= labels.items()] == [name]
    (service,) = [s for s in by_kind(documents, "Service") if s["metadata"]["name"] == f"shop-{component}"]
    for name in (f"shop-{component}", f"shop-{component}-canary"):
        assert service["spec"]["selector"].items() <= pod_labels[name].items()

    host = f"shop-{component}.{NAMESPACE}.svc.cluster.local"
    (rule,) = [r for r in by_kind(documents, "DestinationRule") if r["spec"]["host"] == host]
    subsets = {s["name"]: s["labels"] for s in rule["spec"]["subsets"]}
    assert subsets.keys() == {"stable", "canary"}
    assert subsets["stable"].items() <= pod_labels[f"shop-{component}"].items()
    assert subsets["canary"].items() <= pod_labels[f"shop-{component}-canary"].items()
    services = by_kind(documents, "VirtualService")
    gateway = next(v for v in services if v["spec"].get("gateways"))
    mesh = next(v for v in services if v["spec"]["hosts"] == [host])
    routes = [http["route"] for http in gateway["spec"]["http"]
              if http["route"][0]["destination"]["host"] == host]
    routes += [http["route"] for http in mesh["spec"]["http"]]
    assert len(routes) >= 2
    for route in routes:
        assert {(d["destination"]["subset"], d["weight"]) for d in route} == {("stable", 90), ("canary", 10)}
    # The other components, in split mode, keep one Deployment and plain routes.
    assert len(web) == (2 if mode == "monolith" else len(APPS) + 1)
    assert len([r for r in by_kind(documents, "DestinationRule") if r["spec"].get("subsets")]) == 1


def test_a_canary_of_the_running_tag_is_refused():
    with pytest.raises(AssertionError, match=r"must differ from image\.tag"):
        render_chart("split", {"canary": {"users": {"tag": "0.1.0", "weight": 5}}})


def test_a_restarted_worker_forgets_the_samples_of_the_processes_of_its_earlier_run(tmp_path, monkeypatch):
    """The emptyDir outlives a container restart; the worker starts from this run's files only."""
    from config.celery import forget_samples_of_earlier_runs

    earlier = [tmp_path / "counter_1234567.db", tmp_path / "gauge_livesum_1234568.db"]
    own = tmp_path / f"counter_{os.getpid()}.db"
    for path in (*earlier, own):
        path.write_bytes(b"\0" * 8)
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))
    forget_samples_of_earlier_runs()
    assert sorted(tmp_path.iterdir()) == [own]
