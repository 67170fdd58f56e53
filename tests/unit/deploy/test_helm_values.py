"""The upstream charts' values agree with what the reelhouse manifests expect of them."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml

from tests.support.manifests import K8S, ROOT, load, of_kind, render

HELM = ROOT / "deploy" / "helm"
CHARTS = ("nats", "minio", "postgresql")


def values(chart: str, stage: str) -> dict[str, Any]:
    loaded = yaml.safe_load((HELM / chart / f"values-{stage}.yaml").read_text())
    assert isinstance(loaded, dict)
    return loaded


def dev_secrets() -> dict[str, str]:
    docs = load(render(K8S / "overlays" / "dev"))
    return {
        key: base64.b64decode(value).decode()
        for secret in of_kind(docs, "Secret")
        for key, value in secret["data"].items()
    }


@pytest.mark.parametrize("chart", CHARTS)
@pytest.mark.parametrize("stage", ["dev", "prod"])
def test_each_chart_has_values_and_its_install_command(chart: str, stage: str) -> None:
    assert values(chart, stage)
    text = (HELM / chart / f"values-{stage}.yaml").read_text()
    namespace = "reelhouse-dev" if stage == "dev" else "reelhouse"
    assert f"helm install {chart} " in text
    assert f"-n {namespace} -f deploy/helm/{chart}/values-{stage}.yaml" in text
    readme = (K8S / "README.md").read_text()
    assert f"-n {namespace} -f deploy/helm/{chart}/values-{stage}.yaml" in readme


def test_prod_nats_is_a_three_node_jetstream_cluster_on_files() -> None:
    config = values("nats", "prod")["config"]
    assert config["cluster"] == {"enabled": True, "replicas": 3}
    assert config["jetstream"]["enabled"] is True
    assert config["jetstream"]["fileStore"]["enabled"] is True
    assert config["jetstream"]["fileStore"]["pvc"]["enabled"] is True
    assert config["monitor"]["enabled"] is True  # KEDA reads consumer lag there


def test_dev_credentials_match_the_dev_charts() -> None:
    secrets = dev_secrets()
    database = urlsplit(secrets["REELHOUSE_DATABASE_URL"])
    auth = values("postgresql", "dev")["auth"]
    assert (database.username, database.password) == (auth["username"], auth["password"])
    assert (database.hostname, database.port, database.path) == (
        "postgresql",
        5432,
        f"/{auth['database']}",
    )
    minio = values("minio", "dev")
    assert secrets["REELHOUSE_STORAGE__S3__ACCESS_KEY"] == minio["rootUser"]
    assert secrets["REELHOUSE_STORAGE__S3__SECRET_KEY"] == minio["rootPassword"]
    assert [b["name"] for b in minio["buckets"]] == ["reelhouse"]


def test_prod_charts_read_the_secrets_the_services_read() -> None:
    (user,) = values("minio", "prod")["users"]
    assert user["existingSecret"] == "reelhouse-s3"
    assert user["existingSecretKey"] == "REELHOUSE_STORAGE__S3__SECRET_KEY"
    readme = (K8S / "README.md").read_text()
    assert f"REELHOUSE_STORAGE__S3__ACCESS_KEY={user['accessKey']}" in readme
    assert values("postgresql", "prod")["auth"]["existingSecret"] == "reelhouse-postgresql"
    assert "create secret generic reelhouse-postgresql" in readme
    assert "create secret generic minio-root" in readme


def test_no_chart_value_file_is_a_stateful_set_of_our_own() -> None:
    kinds = {
        doc.get("kind")
        for path in Path(K8S).rglob("*.yaml")
        for doc in yaml.safe_load_all(path.read_text())
        if isinstance(doc, dict)
    }
    assert "StatefulSet" not in kinds
