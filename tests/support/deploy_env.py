"""Every ``REELHOUSE_*`` variable our deployment files set, and the role that receives it.

Sources: compose files (``environment`` as a mapping or a list, ``env_file``), dotenv files
(``.env.example``: no single receiver, so any role will do) and rendered Kubernetes manifests
(``env`` and ``envFrom`` of ConfigMaps and Secrets the same render holds). ``problems`` checks
each against the receiving role's settings with ``settings_env.accepts``.
"""

from __future__ import annotations

import base64
import re
import shlex
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from tests.support.settings_env import SERVICE_ROLES, accepts, settings_class

PREFIX = "REELHOUSE_"
# compose services that are not ours (no role): their variables are not checked
INFRASTRUCTURE = frozenset({"nats", "minio", "postgres", "postgresql", "bucket-init"})
IMAGE = re.compile(r"^(?:.*/)?reelhouse/(?P<role>[a-z]+)(?::.*)?$")
DOTENV_LINE = re.compile(r"^\s*(?:export\s+)?(?P<name>[A-Za-z_][A-Za-z0-9_]*)\s*=")


@dataclass(frozen=True)
class EnvSetting:
    source: str  # where it is set: "compose.yaml: services.gateway.environment"
    role: str | None  # the receiving role; None: any role may receive it (a shared .env)
    variable: str


class ComposeLoader(yaml.SafeLoader):
    """YAML as compose writes it: ``!reset`` and ``!override`` tags on values."""


def _tagged(loader: yaml.SafeLoader, node: yaml.Node) -> Any:
    if isinstance(node, yaml.MappingNode):
        return loader.construct_mapping(node, deep=True)
    if isinstance(node, yaml.SequenceNode):
        return loader.construct_sequence(node, deep=True)
    assert isinstance(node, yaml.ScalarNode)
    return loader.construct_scalar(node)


for _tag in ("!reset", "!override"):
    ComposeLoader.add_constructor(_tag, _tagged)


def load_compose(text: str) -> dict[str, Any]:
    document = yaml.load(text, Loader=ComposeLoader)  # noqa: S506 - a SafeLoader with two tags
    return document if isinstance(document, dict) else {}


def dotenv_names(text: str) -> list[str]:
    return [m["name"] for line in text.splitlines() if (m := DOTENV_LINE.match(line))]


def _environment_names(environment: Any) -> list[str]:
    if isinstance(environment, dict):
        return [str(k) for k in environment]
    if isinstance(environment, list):
        return [str(item).split("=", 1)[0] for item in environment]
    return []


def compose_role(service: str, spec: dict[str, Any]) -> str | None:
    """The role a compose service runs: its name, its ``reelhouse/<role>`` image or build arg."""
    if service in SERVICE_ROLES:
        return service
    image = IMAGE.match(str(spec.get("image") or ""))
    if image and image["role"] in SERVICE_ROLES:
        return image["role"]
    build = spec.get("build")
    if isinstance(build, dict):
        args = build.get("args") or {}
        arg = args.get("SERVICE") if isinstance(args, dict) else None
        if arg in SERVICE_ROLES:
            return str(arg)
    return None


def compose_settings(files: Iterable[Path], root: Path) -> list[EnvSetting]:
    """``REELHOUSE_*`` variables of compose files applied together (``-f a -f b``)."""
    documents = [(path, load_compose(path.read_text())) for path in files]
    roles: dict[str, str | None] = {}
    for _, document in documents:
        for service, spec in (document.get("services") or {}).items():
            role = compose_role(service, spec or {})
            roles[service] = roles.get(service) or role
    found = []
    for path, document in documents:
        shown = path.relative_to(root) if path.is_relative_to(root) else path
        for service, spec in (document.get("services") or {}).items():
            spec = spec or {}
            role = roles.get(service)
            where = f"{shown}: services.{service}"
            for variable in _environment_names(spec.get("environment")):
                found.append(EnvSetting(f"{where}.environment", role, variable))
            env_files = spec.get("env_file") or []
            for entry in [env_files] if isinstance(env_files, str | dict) else env_files:
                file = Path(entry["path"] if isinstance(entry, dict) else entry)
                file = file if file.is_absolute() else path.parent / file
                if file.exists():
                    for variable in dotenv_names(file.read_text()):
                        found.append(EnvSetting(f"{where}.env_file {file.name}", role, variable))
    return found


def dotenv_settings(path: Path, root: Path) -> list[EnvSetting]:
    shown = path.relative_to(root) if path.is_relative_to(root) else path
    return [
        EnvSetting(str(shown), None, name)
        for name in dotenv_names(path.read_text())
        if name.upper().startswith(PREFIX)
    ]


def dockerfile_settings(path: Path, root: Path) -> list[EnvSetting]:
    """``ENV`` of the one Dockerfile every role's image is built from: each role receives it."""
    shown = path.relative_to(root) if path.is_relative_to(root) else path
    text = re.sub(r"\\\n", " ", path.read_text())
    found = []
    for line in text.splitlines():
        words = line.strip().split(None, 1)
        if len(words) != 2 or words[0].upper() != "ENV":
            continue
        parts = shlex.split(words[1])
        names = [p.split("=", 1)[0] for p in parts] if "=" in parts[0] else parts[:1]
        for name in names:
            found += [EnvSetting(f"{shown}: ENV", role, name) for role in SERVICE_ROLES]
    return found


def _deployment_role(deployment: dict[str, Any], container: dict[str, Any]) -> str | None:
    image = IMAGE.match(str(container.get("image") or ""))
    if image and image["role"] in SERVICE_ROLES:
        return image["role"]
    labels = deployment["metadata"].get("labels") or {}
    label = labels.get("app.kubernetes.io/name")
    return str(label) if label in SERVICE_ROLES else None


def manifest_settings(docs: list[dict[str, Any]], source: str) -> list[EnvSetting]:
    """``env`` and ``envFrom`` of every container of every Deployment in one render."""
    data: dict[tuple[str, str], list[str]] = {}
    for doc in docs:
        if doc.get("kind") in ("ConfigMap", "Secret"):
            keys = [*(doc.get("data") or {}), *(doc.get("stringData") or {})]
            data[(str(doc["kind"]), str(doc["metadata"]["name"]))] = keys
    found = []
    for deployment in (d for d in docs if d.get("kind") == "Deployment"):
        pod = deployment["spec"]["template"]["spec"]
        for container in [*pod.get("initContainers", []), *pod.get("containers", [])]:
            role = _deployment_role(deployment, container)
            where = f"{source}: Deployment {deployment['metadata']['name']}/{container['name']}"
            for env in container.get("env") or []:
                found.append(EnvSetting(f"{where} env", role, str(env["name"])))
            for source_ref in container.get("envFrom") or []:
                prefix = source_ref.get("prefix", "")
                for kind, key in (("ConfigMap", "configMapRef"), ("Secret", "secretRef")):
                    if key in source_ref:
                        ref = source_ref[key]["name"]
                        # a Secret the operator creates is not in the render: nothing to check
                        for variable in data.get((kind, ref), []):
                            found.append(
                                EnvSetting(f"{where} envFrom {kind} {ref}", role, prefix + variable)
                            )
    return found


@dataclass(frozen=True)
class ContainerEnv:
    """What one container of a rendered Deployment would find in its environment."""

    where: str
    role: str | None
    values: dict[str, str]
    # Secrets it reads that the render does not hold: the operator creates them
    external_secrets: tuple[str, ...]


def _decoded(doc: dict[str, Any]) -> dict[str, str]:
    """A ConfigMap's data as is, a Secret's decoded from base64."""
    data = {str(k): str(v) for k, v in (doc.get("data") or {}).items()}
    if doc.get("kind") == "Secret":
        data = {k: base64.b64decode(v).decode() for k, v in data.items()}
    return data | {str(k): str(v) for k, v in (doc.get("stringData") or {}).items()}


def manifest_environments(docs: list[dict[str, Any]]) -> list[ContainerEnv]:
    """Each container's environment from ``env`` and ``envFrom`` (later entries win, as in k8s)."""
    sources = {
        (str(d["kind"]), str(d["metadata"]["name"])): _decoded(d)
        for d in docs
        if d.get("kind") in ("ConfigMap", "Secret")
    }
    found = []
    for deployment in (d for d in docs if d.get("kind") == "Deployment"):
        for container in deployment["spec"]["template"]["spec"].get("containers", []):
            values: dict[str, str] = {}
            external: list[str] = []
            for ref in container.get("envFrom") or []:
                for kind, key in (("ConfigMap", "configMapRef"), ("Secret", "secretRef")):
                    if key not in ref:
                        continue
                    source = sources.get((kind, ref[key]["name"]))
                    if source is None:
                        external.append(ref[key]["name"])
                    else:
                        values |= {ref.get("prefix", "") + k: v for k, v in source.items()}
            for env in container.get("env") or []:
                if "value" in env:
                    values[str(env["name"])] = str(env["value"])
            found.append(
                ContainerEnv(
                    where=f"Deployment {deployment['metadata']['name']}/{container['name']}",
                    role=_deployment_role(deployment, container),
                    values=values,
                    external_secrets=tuple(external),
                )
            )
    return found


def problems(
    settings: Iterable[EnvSetting], *, pending: Mapping[str, frozenset[str]] | None = None
) -> list[str]:
    """Each variable its receiver would silently ignore, and each receiver we cannot name.

    ``pending`` tolerates, per role, variables that another branch's settings bring; only while
    that role's settings do not accept them yet, so the tolerance ends by itself.
    """
    found = []
    for setting in settings:
        if not setting.variable.upper().startswith(PREFIX):
            continue
        service = re.search(r"services\.([^.]+)\.", setting.source)
        if setting.role is None and service and service[1] in INFRASTRUCTURE:
            continue
        if setting.role and setting.variable.upper() in (pending or {}).get(setting.role, ()):
            continue
        if setting.role is None and service:
            found.append(
                f"{setting.source}: {setting.variable} goes to a service of unknown role "
                f"(name it for its role, or give it the image reelhouse/<role>)"
            )
            continue
        roles = [setting.role] if setting.role else list(SERVICE_ROLES)
        if not any(accepts(settings_class(role), setting.variable) for role in roles):
            receiver = setting.role or "any service"
            found.append(f"{setting.source}: {setting.variable} is not a setting of {receiver}")
    return found
