"""Run what a rendered Helm chart runs, on this machine, as kubelet would, and look at it as
kubelet and Prometheus do.

Each pod gets a loopback address of its own as its IP (127.0.<n>.1), so every pod listens on the
chart's own ports, as in a cluster; the pod's own loopback is not simulated, so a server bound to
every interface of the pod (`0.0.0.0`) listens on the pod's IP. A container runs its exact
`command`, in the checkout (the image's WORKDIR), with the environment kubelet would give it: the
image's `ENV` (docker/Dockerfile), the Secrets of `envFrom` (which the test supplies: its
PostgreSQL, Redis and Kafka), then `env` with `$(VAR)` expanded and `status.podIP` filled in.
Paths of the image and of the pod's volumes are mapped to the checkout, the virtualenv and a
directory per volume; Service names (`<service>.<namespace>.svc.cluster.local`) to the IP of the
pod the Service selects (one replica each). Probes are called as declared: HTTP with the pod IP as
Host, gRPC health, exec.
"""

import os
import re
import shlex
import signal
import socket
import subprocess
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import grpc
import requests
from grpc_health.v1 import health_pb2, health_pb2_grpc
from prometheus_client.parser import text_string_to_metric_families

from tests.support.processes import PROBE_CHANNEL_OPTIONS, REPO_ROOT

DOCKERFILE = REPO_ROOT / "docker" / "Dockerfile"
VENV = REPO_ROOT / ".venv"
_REFERENCE = re.compile(r"\$\(([A-Za-z_][A-Za-z0-9_]*)\)")


def image_paths(scratch: Path) -> dict[str, str]:
    """The image's paths, here: its virtualenv, its WORKDIR (the checkout), and the static files
    it collected at build time (none here: a directory under `scratch`)."""
    return {"/opt/venv": str(VENV), "/app": str(REPO_ROOT), "/app/static": str(scratch / "static")}


def image_environment(base: Mapping[str, str]) -> dict[str, str]:
    """The runtime stage's `ENV` of docker/Dockerfile (its last stage) over `base`, `$NAME`
    references expanded as Docker does."""
    runtime = DOCKERFILE.read_text().rsplit("\nFROM ", 1)[1]
    env = dict(base)
    for instruction in re.findall(r"^ENV (.+?)(?<!\\)$", runtime, flags=re.MULTILINE | re.DOTALL):
        for pair in shlex.split(instruction.replace("\\\n", " ")):
            name, value = pair.split("=", 1)
            env[name] = re.sub(r"\$(\w+)", lambda m: env.get(m.group(1), ""), value)
    return env


def expand(value: str, env: Mapping[str, str]) -> str:
    """Kubernetes' `$(VAR)` expansion: a defined variable is replaced, others stay as written."""
    return _REFERENCE.sub(lambda m: env.get(m.group(1), m.group(0)), value)


def map_paths(value: str, paths: Mapping[str, str]) -> str:
    """`value` with each path of the container (a key of `paths`, as a whole path component)
    replaced by the local one, in one pass: a local path that happens to start like a container
    path (a checkout under /tmp) is not mapped again."""
    alternatives = "|".join(re.escape(path) for path in sorted(paths, key=len, reverse=True))
    return re.sub(rf"(?<![\w/.])({alternatives})(?=/|:|$)", lambda match: paths[match.group(1)], value)


def on_path(words: list[str], env: Mapping[str, str]) -> list[str]:
    """`words` with the first found on `env`'s PATH, as exec does."""
    found = (Path(directory) / words[0] for directory in env["PATH"].split(":"))
    return [str(next((path for path in found if path.exists()), words[0])), *words[1:]]


def counters(body: str) -> dict[tuple, float]:
    """(name, labels) -> value of every counter, histogram and summary sample of a scrape: the
    samples that must never go backwards while a process lives."""
    samples = {}
    for family in text_string_to_metric_families(body):
        if family.type in ("counter", "histogram", "summary"):
            for sample in family.samples:
                if not sample.name.endswith("_created"):
                    samples[sample.name, tuple(sorted(sample.labels.items()))] = sample.value
    return samples


@dataclass
class Container:
    name: str
    spec: dict
    env: dict[str, str]
    mounts: dict[str, str]  # path in the container -> path here
    pod_ip: str
    process: subprocess.Popen | None = None
    log_path: Path | None = None

    def port(self, port: int | str) -> int:
        """A probe's or Service's port: a number, or the name of one of this container's ports."""
        if isinstance(port, int) or str(port).isdigit():
            return int(port)
        return next(p["containerPort"] for p in self.spec.get("ports", []) if p["name"] == port)

    def port_names(self) -> set[str]:
        return {p["name"] for p in self.spec.get("ports", [])}

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path and self.log_path.exists() else ""


@dataclass
class Pod:
    """One replica of a Deployment or Job."""

    name: str
    ip: str
    workload: dict
    directory: Path  # the pod's volumes live here
    containers: dict[str, Container] = field(default_factory=dict)

    @property
    def kind(self) -> str:
        return self.workload["kind"]

    @property
    def labels(self) -> dict:
        return self.workload["spec"]["template"]["metadata"]["labels"]

    def running(self) -> bool:
        return all(c.process is not None and c.process.poll() is None for c in self.containers.values())


class Cluster:
    """The pods of a rendered chart on this machine. `secrets` maps a Secret's name to its data."""

    def __init__(self, documents: list[dict], secrets: Mapping[str, Mapping[str, str]], log_dir: Path):
        self.documents = documents
        self.secrets = secrets
        self.log_dir = log_dir
        self.pods: dict[str, Pod] = {}
        workloads = [d for d in documents if d["kind"] in ("Deployment", "Job")]
        for number, workload in enumerate(workloads, start=101):
            name = workload["metadata"]["name"]
            directory = log_dir / name
            directory.mkdir(parents=True, exist_ok=True)
            self.pods[name] = Pod(name, f"127.0.{number}.1", workload, directory)
        # Service DNS names -> the IP of the pod each Service selects.
        self.service_ips = {}
        for service in self.of_kind("Service"):
            meta = service["metadata"]
            (pod,) = self.selected_pods(service["spec"]["selector"])
            self.service_ips[f"{meta['name']}.{meta['namespace']}.svc.cluster.local"] = pod.ip
        for pod in self.pods.values():
            for spec in pod.workload["spec"]["template"]["spec"]["containers"]:
                mounts = self.mounts(pod, spec)
                env = self.container_env(pod, spec, mounts)
                pod.containers[spec["name"]] = Container(spec["name"], spec, env, mounts, pod.ip)

    def of_kind(self, kind: str) -> list[dict]:
        return [d for d in self.documents if d["kind"] == kind]

    def selected_pods(self, selector: Mapping[str, str]) -> list[Pod]:
        """The Deployments' pods a Service selects."""
        return [pod for pod in self.pods.values()
                if pod.kind == "Deployment" and selector.items() <= pod.labels.items()]

    # --- what kubelet gives a container -----------------------------------------------------
    def mounts(self, pod: Pod, spec: dict) -> dict[str, str]:
        """Path in the container -> path here: the pod's volumes, then the image's own paths."""
        mounts = {m["mountPath"]: str(pod.directory / m["name"]) for m in spec.get("volumeMounts", [])}
        for local in mounts.values():
            Path(local).mkdir(parents=True, exist_ok=True)
        return {**mounts, **image_paths(pod.directory)}

    def localize(self, value: str, mounts: Mapping[str, str]) -> str:
        value = map_paths(value, mounts)
        for host, ip in self.service_ips.items():
            value = value.replace(host, ip)
        return value

    def container_env(self, pod: Pod, spec: dict, mounts: Mapping[str, str]) -> dict[str, str]:
        # The pod's hostname is this machine's: Celery names a worker after it (`worker@%h`)
        # and its liveness probe pings `worker@$HOSTNAME`.
        base = {"HOME": str(pod.directory), "LANG": "C.UTF-8", "HOSTNAME": socket.gethostname(),
                "PATH": "/usr/local/bin:/usr/bin:/bin"}
        env = {name: self.localize(value, mounts) for name, value in image_environment(base).items()}
        for source in spec.get("envFrom", []):
            env.update(self.secrets[source["secretRef"]["name"]])
        for item in spec.get("env", []):
            if "value" in item:
                env[item["name"]] = self.localize(expand(item["value"], env), mounts)
            else:  # the chart's only field reference
                assert item["valueFrom"]["fieldRef"]["fieldPath"] == "status.podIP", item
                env[item["name"]] = pod.ip
        return env

    def command(self, container: Container, args: list[str] | None = None) -> list[str]:
        """The container's command (or `args`, for an exec probe), expanded and localized; its
        first word found on the container's PATH (the image's virtualenv first)."""
        words = [self.localize(expand(word, container.env), container.mounts)
                 for word in (args if args is not None else container.spec["command"])]
        words = [word.replace("0.0.0.0:", f"{container.pod_ip}:") for word in words]
        return on_path(words, container.env)

    # --- running ---------------------------------------------------------------------------
    def start(self, pod: Pod) -> None:
        for container in pod.containers.values():
            container.log_path = self.log_dir / f"{pod.name}.{container.name}.log"
            with container.log_path.open("a") as log:
                container.process = subprocess.Popen(
                    self.command(container), cwd=REPO_ROOT, env=container.env, stdout=log,
                    stderr=subprocess.STDOUT, start_new_session=True,
                )

    def run_job(self, pod: Pod, timeout: float) -> int:
        """Run a Job's pod to completion; its exit code."""
        self.start(pod)
        (container,) = pod.containers.values()
        return container.process.wait(timeout)

    def kill(self, pod: Pod) -> None:
        """SIGKILL every process of the pod, as a node failure would."""
        for container in pod.containers.values():
            if container.process and container.process.poll() is None:
                os.killpg(container.process.pid, signal.SIGKILL)
                container.process.wait()

    def stop(self, pod: Pod, grace: float = 20) -> None:
        """SIGTERM, then SIGKILL after `grace`, as kubelet stops a pod."""
        running = [c.process for c in pod.containers.values() if c.process and c.process.poll() is None]
        for process in running:
            os.killpg(process.pid, signal.SIGTERM)
        deadline = time.monotonic() + grace
        for process in running:
            try:
                process.wait(max(deadline - time.monotonic(), 0.1))
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()

    # --- kubelet's probes ------------------------------------------------------------------
    def probe(self, pod: Pod, container: Container, kind: str) -> str | None:
        """Call the container's `kind` probe (startupProbe, livenessProbe, readinessProbe) once as
        kubelet does; None when it passes, else why it failed."""
        probe = container.spec[kind]
        timeout = probe.get("timeoutSeconds", 1)
        try:
            if "httpGet" in probe:
                return self._http_probe(pod, container, probe["httpGet"], timeout)
            if "grpc" in probe:
                return self._grpc_probe(pod, container, probe["grpc"], timeout)
            if "exec" in probe:
                result = subprocess.run(self.command(container, probe["exec"]["command"]), cwd=REPO_ROOT,
                                        env=container.env, capture_output=True, text=True, timeout=timeout)
                return None if result.returncode == 0 else \
                    f"exit {result.returncode}: {result.stdout[-300:]}{result.stderr[-300:]}"
        except (OSError, requests.RequestException, grpc.RpcError, subprocess.TimeoutExpired) as exc:
            return f"{type(exc).__name__}: {exc}"[:300]
        raise AssertionError(f"unknown probe {probe}")

    def verdict(self, pod: Pod, container: Container, kind: str) -> str | None:
        """kubelet's verdict on the probe: failed only after `failureThreshold` failures in a row
        (tried a second apart here, not `periodSeconds`); None when it passes."""
        attempts = container.spec[kind].get("failureThreshold", 3)
        for attempt in range(attempts):
            failure = self.probe(pod, container, kind)
            if failure is None:
                return None
            if attempt + 1 < attempts:
                time.sleep(1)
        return failure

    @staticmethod
    def _http_probe(pod: Pod, container: Container, action: dict, timeout: float) -> str | None:
        port = container.port(action["port"])
        headers = {"Host": f"{pod.ip}:{port}"}  # what kubelet sends unless the probe sets one
        headers.update({h["name"]: h["value"] for h in action.get("httpHeaders", [])})
        response = requests.get(f"http://{pod.ip}:{port}{action['path']}", headers=headers,
                                timeout=timeout, allow_redirects=False)
        return None if 200 <= response.status_code < 400 else \
            f"HTTP {response.status_code}: {response.text[:300]}"

    @staticmethod
    def _grpc_probe(pod: Pod, container: Container, action: dict, timeout: float) -> str | None:
        request = health_pb2.HealthCheckRequest(service=action.get("service", ""))
        # As kubelet, a connection of its own each time, never waiting out an earlier one's backoff.
        with grpc.insecure_channel(f"{pod.ip}:{container.port(action['port'])}",
                                   options=PROBE_CHANNEL_OPTIONS) as channel:
            status = health_pb2_grpc.HealthStub(channel).Check(request, timeout=timeout).status
        serving = health_pb2.HealthCheckResponse
        return None if status == serving.SERVING else serving.ServingStatus.Name(status)

    def wait_for_probe(self, pod: Pod, container: Container, kind: str, budget: float | None = None) -> None:
        """Call the probe until it passes within its budget (by default what kubelet allows:
        initialDelaySeconds + periodSeconds x failureThreshold); AssertionError otherwise."""
        probe = container.spec[kind]
        if budget is None:
            budget = (probe.get("initialDelaySeconds", 0)
                      + probe.get("periodSeconds", 10) * probe.get("failureThreshold", 3))
        deadline = time.monotonic() + budget
        while True:
            if container.process.poll() is not None:
                raise AssertionError(f"{pod.name}/{container.name} exited {container.process.returncode}:\n"
                                     f"{container.log()[-3000:]}")
            failure = self.probe(pod, container, kind)
            if failure is None:
                return
            if time.monotonic() > deadline:
                raise AssertionError(f"{kind} of {pod.name}/{container.name} failing after {budget}s: "
                                     f"{failure}\n{container.log()[-3000:]}")
            time.sleep(1)

    # --- Prometheus ------------------------------------------------------------------------
    def scrape_targets(self) -> list[tuple[Pod, Container, int, str]]:
        """What the ServiceMonitors make Prometheus scrape: (pod, container, port, path) for each
        endpoint port of each Service they select."""
        targets = []
        for monitor in self.of_kind("ServiceMonitor"):
            selector = monitor["spec"]["selector"]["matchLabels"]
            for service in self.of_kind("Service"):
                if not selector.items() <= service["metadata"]["labels"].items():
                    continue
                for endpoint in monitor["spec"]["endpoints"]:
                    for port in service["spec"]["ports"]:
                        if port["name"] != endpoint["port"]:
                            continue
                        for pod in self.selected_pods(service["spec"]["selector"]):
                            container = next(c for c in pod.containers.values()
                                             if port["targetPort"] in c.port_names())
                            targets.append((pod, container, container.port(port["targetPort"]),
                                            endpoint["path"]))
        return targets

    @staticmethod
    def scrape(pod: Pod, port: int, path: str) -> str:
        """One scrape as Prometheus sends it: to the pod IP, with it as Host."""
        response = requests.get(f"http://{pod.ip}:{port}{path}", headers={"Host": f"{pod.ip}:{port}"},
                                timeout=10)
        assert response.status_code == 200, \
            f"{pod.name}:{port}{path} answered {response.status_code}: {response.text[:300]}"
        return response.text

