"""The environment each embedded part runs with: one machine, loopback, local disk, SQLite."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from reelhouse.embedded.secrets import EmbeddedSecrets
from reelhouse.embedded.settings import EmbeddedOptions

ROLES = ("sandbox", "dispatcher", "downloader", "assembler", "media", "gateway")
# the provider names the dispatcher gives the sandbox's two protocols
SANDBOX_PROVIDERS = ("sandbox", "sandbox-fal")


@dataclass(frozen=True, slots=True)
class Layout:
    """Where the embedded system keeps its data, all under one directory."""

    root: Path

    @property
    def nats(self) -> Path:
        return self.root / "nats"

    @property
    def objects(self) -> Path:
        return self.root / "objects"

    @property
    def sandbox(self) -> Path:
        return self.root / "sandbox"

    @property
    def database(self) -> Path:
        return self.root / "reelhouse.db"

    @property
    def lock(self) -> Path:
        return self.root / "embedded.lock"


@dataclass(frozen=True, slots=True)
class Addresses:
    host: str
    options: EmbeddedOptions

    @property
    def nats_url(self) -> str:
        return f"nats://{self.host}:{self.options.nats_port}"

    def http(self, port: int) -> str:
        return f"http://{self.host}:{port}"

    @property
    def gateway(self) -> str:
        return self.http(self.options.gateway_port)

    @property
    def media(self) -> str:
        return self.http(self.options.media_port)

    @property
    def sandbox(self) -> str:
        return self.http(self.options.sandbox_port)

    @property
    def sandbox_fal(self) -> str:
        return f"https://{self.host}:{self.options.sandbox_fal_port}"

    @property
    def dispatcher(self) -> str:
        return self.http(self.options.dispatcher_port)

    @property
    def downloader(self) -> str:
        return self.http(self.options.downloader_port)

    @property
    def assembler(self) -> str:
        return self.http(self.options.assembler_port)

    @property
    def web(self) -> str:
        return self.gateway + self.options.web_path


def _signing(secrets: EmbeddedSecrets) -> dict[str, str]:
    return {
        "REELHOUSE_SIGNING__KEYS": json.dumps(secrets.signing_keys),
        "REELHOUSE_SIGNING__ACTIVE_KEY_ID": secrets.active_key_id,
    }


def _local_storage(layout: Layout) -> dict[str, str]:
    return {
        "REELHOUSE_STORAGE__BACKEND": "local",
        "REELHOUSE_STORAGE__LOCAL_ROOT": str(layout.objects),
    }


def _http(host: str, port: int) -> dict[str, str]:
    return {"REELHOUSE_HTTP__HOST": host, "REELHOUSE_HTTP__PORT": str(port)}


def role_environment(
    role: str,
    *,
    options: EmbeddedOptions,
    secrets: EmbeddedSecrets,
    log_level: str = "INFO",
) -> dict[str, str]:
    """The ``REELHOUSE_*`` variables for one role (merged over the launcher's own environment)."""
    layout = Layout(options.data_dir.resolve())
    addresses = Addresses(options.host, options)
    common = {"REELHOUSE_NATS__URL": addresses.nats_url, "REELHOUSE_LOG__LEVEL": log_level}
    match role:
        case "sandbox":
            own = {
                **_http(options.host, options.sandbox_port),
                "REELHOUSE_PUBLIC_BASE_URL": addresses.sandbox,
                "REELHOUSE_FAL_PORT": str(options.sandbox_fal_port),
                "REELHOUSE_FAL_PUBLIC_BASE_URL": addresses.sandbox_fal,
                "REELHOUSE_DATA_DIR": str(layout.sandbox),
            }
        case "dispatcher":
            own = {
                **_http(options.host, options.dispatcher_port),
                "REELHOUSE_PROVIDERS__SANDBOX__BASE_URL": addresses.sandbox,
                "REELHOUSE_PROVIDERS__SANDBOX_FAL__QUEUE_URL": addresses.sandbox_fal,
                "REELHOUSE_PROVIDERS__SANDBOX_FAL__JWKS_URL": (
                    addresses.sandbox_fal + "/.well-known/jwks.json"
                ),
                # trust the sandbox's private CA for its fal API only (not process-wide)
                "REELHOUSE_PROVIDERS__SANDBOX_FAL__CA_FILE": str(layout.sandbox / "ca.pem"),
                # providers call back here; polling still runs, only slower
                "REELHOUSE_WEBHOOK_BASE_URL": addresses.dispatcher,
                # uploads are handed to the sandbox as signed URLs of the local media service
                **_signing(secrets),
                "REELHOUSE_PUBLIC_MEDIA_BASE_URL": addresses.media,
            }
        case "downloader":
            own = {
                **_http(options.host, options.downloader_port),
                **_local_storage(layout),
                # the sandbox serves outputs over plain http on loopback
                "REELHOUSE_ALLOW_LOOPBACK": "true",
                "REELHOUSE_ALLOWED_SCHEMES": json.dumps(["http", "https"]),
                # the sandbox's outputs come from its own host and nowhere else (a redirect
                # elsewhere, fault ``redirect_disallowed``, is refused)
                "REELHOUSE_ALLOWED_HOSTS": json.dumps(
                    {provider: [options.host] for provider in SANDBOX_PROVIDERS}
                ),
            }
        case "assembler":
            # films are joined from (and stored to) the same local disk the media service serves
            own = {**_http(options.host, options.assembler_port), **_local_storage(layout)}
        case "media":
            own = {
                **_http(options.host, options.media_port),
                **_local_storage(layout),
                **_signing(secrets),
            }
        case "gateway":
            own = {
                **_http(options.host, options.gateway_port),
                **_signing(secrets),
                # uploads are written where the media service reads them
                **_local_storage(layout),
                "REELHOUSE_DATABASE_URL": f"sqlite+aiosqlite:///{layout.database}",
                "REELHOUSE_MEDIA_BASE_URL": addresses.media,
                "REELHOUSE_BOOTSTRAP_API_KEY": secrets.dev_api_key,
                "REELHOUSE_PUBLIC_BASE_URL": addresses.gateway,
                # a developer's webhook receiver runs on this machine, often over plain http
                "REELHOUSE_WEBHOOKS__ALLOW_LOOPBACK": "true",
                "REELHOUSE_WEBHOOKS__ALLOWED_SCHEMES": json.dumps(["http", "https"]),
                # inputs may point at the local machine's plain-http servers (development);
                # the providers it has are read from the dispatcher's variables it inherits
                "REELHOUSE_INPUT_ALLOW_HTTP_URIS": "true",
                # a browser app on any origin (a dev server on another port) may call it
                "REELHOUSE_CORS__ALLOWED_ORIGINS": json.dumps(["*"]),
            }
        case _:
            raise ValueError(f"unknown role {role!r}; expected one of {', '.join(ROLES)}")
    return {**common, **own}


def merged(base: Mapping[str, str], overrides: Mapping[str, str]) -> dict[str, str]:
    """``overrides`` over ``base``, without the launcher's own ``REELHOUSE_EMBEDDED__*`` knobs."""
    inherited = {k: v for k, v in base.items() if not k.startswith("REELHOUSE_EMBEDDED__")}
    return {**inherited, **overrides}
