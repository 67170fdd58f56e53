"""No configuration typo can ship: every REELHOUSE_* variable we set is one its receiver reads.

pydantic-settings ignores unknown variables, so a misspelt one in compose.yaml, its override, the
.env template or a Kubernetes manifest would leave the service on its default without a word.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.support.deploy_env import (
    compose_settings,
    dockerfile_settings,
    dotenv_settings,
    load_compose,
    manifest_environments,
    manifest_settings,
    problems,
)
from tests.support.manifests import OVERLAYS, ROOT, load, render
from tests.support.settings_env import settings_class

COMPOSE_FILES = sorted(
    [
        *ROOT.glob("compose.yaml"),
        *ROOT.glob("compose.*.yaml"),
        *(ROOT / "deploy" / "compose").glob("*.yaml"),
    ]
)
DOTENV_FILES = sorted(ROOT.glob(".env.example"))
DOCKERFILE = ROOT / "deploy" / "Dockerfile"
K8S_README = ROOT / "deploy" / "k8s" / "README.md"

# The Secrets an operator creates for prod (deploy/k8s/README.md), with stand-in values of the
# shape the README asks for: the services must start on them and the overlay's ConfigMaps.
OPERATOR_SECRETS: dict[str, dict[str, str]] = {
    "reelhouse-database": {
        "REELHOUSE_DATABASE_URL": "postgresql+asyncpg://reelhouse:pw@postgresql:5432/reelhouse"
    },
    "reelhouse-signing": {
        "REELHOUSE_SIGNING__KEYS": '{"k1": "0123456789abcdef0123456789abcdef"}',
        "REELHOUSE_SIGNING__ACTIVE_KEY_ID": "k1",
    },
    "reelhouse-s3": {
        "REELHOUSE_STORAGE__S3__ACCESS_KEY": "reelhouse",
        "REELHOUSE_STORAGE__S3__SECRET_KEY": "a-minio-password",
    },
    "reelhouse-providers": {
        "REELHOUSE_PROVIDERS__REPLICATE__API_TOKEN": "r8_token",
        "REELHOUSE_PROVIDERS__FAL__KEY": "key-id:secret",
        "REELHOUSE_PROVIDERS__REPLICATE__WEBHOOK_SECRET": "whsec_c2VjcmV0",
    },
    "reelhouse-bootstrap": {"REELHOUSE_BOOTSTRAP_API_KEY": "a-long-bootstrap-api-key"},
}


@pytest.mark.parametrize("overlay", OVERLAYS, ids=[p.name for p in OVERLAYS])
def test_every_variable_a_kubernetes_overlay_sets_is_read_by_its_service(overlay: Path) -> None:
    found = manifest_settings(load(render(overlay)), f"deploy/k8s/overlays/{overlay.name}")
    assert {s.role for s in found} >= {"gateway", "dispatcher", "downloader", "media"}
    assert problems(found) == []


@pytest.mark.parametrize("overlay", OVERLAYS, ids=[p.name for p in OVERLAYS])
def test_every_service_starts_on_the_settings_an_overlay_gives_it(
    overlay: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # values too: a JSON list that does not parse, `s4` for a backend, a key too short
    for container in manifest_environments(load(render(overlay))):
        assert container.role is not None, container.where
        undocumented = set(container.external_secrets) - set(OPERATOR_SECRETS)
        assert not undocumented, f"{container.where} reads Secrets deploy/k8s/README.md omits"
        env = {k: v for ref in container.external_secrets for k, v in OPERATOR_SECRETS[ref].items()}
        with monkeypatch.context() as patch:
            for name in [n for n in os.environ if n.upper().startswith("REELHOUSE_")]:
                patch.delenv(name)
            for name, value in (env | container.values).items():
                patch.setenv(name, value)
            settings_class(container.role)()  # a ValidationError names the field


def test_the_kubernetes_readme_tells_how_to_create_every_operator_secret() -> None:
    text = K8S_README.read_text()
    for secret, variables in OPERATOR_SECRETS.items():
        assert f"create secret generic {secret}" in text
        assert all(variable in text for variable in variables)


@pytest.mark.skipif(not DOCKERFILE.exists(), reason="no deploy/Dockerfile yet")
def test_every_variable_the_dockerfile_sets_is_read_by_every_role() -> None:
    assert problems(dockerfile_settings(DOCKERFILE, ROOT)) == []


@pytest.mark.skipif(not COMPOSE_FILES, reason="no compose.yaml yet")
def test_every_variable_compose_sets_is_read_by_its_service() -> None:
    found = compose_settings(COMPOSE_FILES, ROOT)
    assert problems(found) == []


@pytest.mark.skipif(not DOTENV_FILES, reason="no .env.example yet")
def test_every_reelhouse_variable_in_the_env_template_is_a_setting() -> None:
    found = [s for path in DOTENV_FILES for s in dotenv_settings(path, ROOT)]
    assert problems(found) == []


COMPOSE = """
x-log: &log
  REELHOUSE_LOG__JSON: "true"
services:
  nats:
    image: nats:2.11
    environment: {NATS_ANYTHING: "1"}
  gateway:
    image: reelhouse/gateway:latest
    environment:
      <<: [*log]
      REELHOUSE_HTTP__PORT: "8000"
      REELHOUSE_DATABSE_URL: postgresql+asyncpg://db/reelhouse
  api-replica:
    build: {context: ., args: {SERVICE: gateway}}
    environment: ["REELHOUSE_MEDIA_BASE_URL=http://media", "REELHOUSE_DELIVERY__MODE=proxy"]
  media:
    environment:
      REELHOUSE_STORAGE__S3__ENDPOINT: minio:9000
  mystery:
    environment:
      REELHOUSE_LOG__LEVEL: DEBUG
"""

OVERRIDE = """
services:
  media:
    network_mode: host
    ports: !reset []
    environment:
      REELHOUSE_NATS__URL: nats://127.0.0.1:4222
"""


def test_a_typo_in_compose_is_caught_with_its_file_and_service(tmp_path: Path) -> None:
    (tmp_path / "compose.yaml").write_text(COMPOSE)
    (tmp_path / "local.yaml").write_text(OVERRIDE)
    found = compose_settings([tmp_path / "compose.yaml", tmp_path / "local.yaml"], tmp_path)
    assert sorted(problems(found)) == [
        "compose.yaml: services.api-replica.environment: REELHOUSE_DELIVERY__MODE is not a "
        "setting of gateway",
        "compose.yaml: services.gateway.environment: REELHOUSE_DATABSE_URL is not a setting "
        "of gateway",
        "compose.yaml: services.mystery.environment: REELHOUSE_LOG__LEVEL goes to a service of "
        "unknown role (name it for its role, or give it the image reelhouse/<role>)",
        # the override's media gets a variable media does not read (it has no broker)
        "local.yaml: services.media.environment: REELHOUSE_NATS__URL is not a setting of media",
    ]


def test_compose_env_files_are_read_for_their_service(tmp_path: Path) -> None:
    (tmp_path / "media.env").write_text("# media\nREELHOUSE_CORS__MAX_AGE_SECOND=60\n")
    (tmp_path / "compose.yaml").write_text(
        "services:\n  media:\n    image: reelhouse/media\n    env_file: [media.env]\n"
    )
    found = compose_settings([tmp_path / "compose.yaml"], tmp_path)
    assert problems(found) == [
        "compose.yaml: services.media.env_file media.env: REELHOUSE_CORS__MAX_AGE_SECOND is not "
        "a setting of media"
    ]


def test_compose_tags_for_overrides_load() -> None:
    assert load_compose(OVERRIDE)["services"]["media"]["ports"] == []


def test_a_typo_in_the_env_template_is_caught(tmp_path: Path) -> None:
    template = tmp_path / ".env.example"
    template.write_text(
        "POSTGRES_PASSWORD=x\nREELHOUSE_SIGNING__KEYS='{}'\nexport REELHOUSE_PROVIDERS__FAL__KYE=\n"
    )
    assert problems(dotenv_settings(template, tmp_path)) == [
        ".env.example: REELHOUSE_PROVIDERS__FAL__KYE is not a setting of any service"
    ]


MANIFEST = """
apiVersion: v1
kind: ConfigMap
metadata: {name: downloader-config-abc123}
data:
  REELHOUSE_MAX_BYTES: "1000"
  REELHOUSE_STORAGE__S3__BUKET: reelhouse
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: blue-downloader, labels: {app.kubernetes.io/name: downloader}}
spec:
  template:
    spec:
      containers:
        - name: downloader
          image: registry.example.com/reelhouse/downloader:1.0
          env:
            - {name: REELHOUSE_CONCURENCY, value: "2"}
            - {name: REELHOUSE_CONCURRENCY, value: "2"}
          envFrom:
            - configMapRef: {name: downloader-config-abc123}
            - secretRef: {name: created-by-the-operator}
            - prefix: REELHOUSE_NATS__
              configMapRef: {name: nats-bits}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: nats-bits}
data: {URL: "nats://nats:4222", ULR: "nats://nats:4222"}
"""


def test_a_typo_in_a_manifest_env_or_env_from_is_caught() -> None:
    found = manifest_settings(load(MANIFEST), "overlay")
    where = "overlay: Deployment blue-downloader/downloader"
    assert sorted(problems(found)) == sorted(
        [
            f"{where} env: REELHOUSE_CONCURENCY is not a setting of downloader",
            f"{where} envFrom ConfigMap downloader-config-abc123: REELHOUSE_STORAGE__S3__BUKET "
            "is not a setting of downloader",
            f"{where} envFrom ConfigMap nats-bits: REELHOUSE_NATS__ULR is not a setting of "
            "downloader",
        ]
    )
