"""Where rendered outputs live on disk, and their signed, expiring URLs.

URLs look like ``{public_base_url}/files/{prediction_id}/{name}?exp=<unix>&sig=<hmac>``.
The app passes the secret kept in ``data_dir`` (``persistence.load_or_create_secret``), so
URLs issued before a restart keep working; without one, a random secret is used.
"""

from __future__ import annotations

import math
import re
import secrets
import shutil
from pathlib import Path
from urllib.parse import quote, urlencode

from reelhouse.common.signing import SignatureError, UrlSigner

KEY_ID = "sandbox"
_SAFE_ID = re.compile(r"^[a-z0-9]{1,64}$")
_SAFE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")

CONTENT_TYPES = {".mp4": "video/mp4", ".png": "image/png", ".m4a": "audio/mp4"}


def content_type_for(name: str) -> str:
    return CONTENT_TYPES.get(Path(name).suffix.lower(), "application/octet-stream")


class OutputFiles:
    def __init__(self, root: Path, public_base_url: str, *, secret: bytes | None = None) -> None:
        self.root = root
        self._base_url = public_base_url.rstrip("/")
        self._signer = UrlSigner({KEY_ID: secret or secrets.token_bytes(32)}, KEY_ID)

    def dir_for(self, prediction_id: str) -> Path:
        if not _SAFE_ID.match(prediction_id):
            raise ValueError(f"not a prediction id: {prediction_id!r}")
        return self.root / prediction_id

    def path_for(self, prediction_id: str, name: str) -> Path:
        if not _SAFE_NAME.match(name):
            raise ValueError(f"not an output file name: {name!r}")
        return self.dir_for(prediction_id) / name

    def url_for(self, prediction_id: str, name: str, *, expires_at: float) -> str:
        """A URL valid until ``expires_at`` (rounded up to the next whole second)."""
        query = self._signer.sign(
            f"{prediction_id}/{name}", ttl_seconds=0, now=math.ceil(expires_at)
        )
        path = f"/files/{quote(prediction_id)}/{quote(name)}"
        return f"{self._base_url}{path}?{urlencode({'exp': query['exp'], 'sig': query['sig']})}"

    def verify(
        self, prediction_id: str, name: str, *, exp: str | None, sig: str | None, now: float
    ) -> None:
        """Raise SignatureError (bad or missing) or SignatureExpiredError (too late)."""
        if not exp or not sig:
            raise SignatureError("the URL carries no signature")
        self._signer.verify(f"{prediction_id}/{name}", exp=exp, kid=KEY_ID, sig=sig, now=now)

    def remove(self, prediction_id: str) -> None:
        shutil.rmtree(self.dir_for(prediction_id), ignore_errors=True)
