"""A submission's ``webhook_url`` and ``webhook_events``, checked before the job is accepted.

The URL passes the same SSRF guard as every delivery (scheme, and the address when the host
is an IP literal); host names are judged after DNS at each delivery, since DNS may change.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Protocol

import httpx

from reelhouse.common.errors import PermanentError
from reelhouse.common.urlguard import UrlGuard
from reelhouse.gateway.problems import FieldError, ProblemError
from reelhouse.gateway.settings import WebhookSettings
from reelhouse.gateway.webhooks.events import (
    WEBHOOK_EVENTS,
    InvalidWebhookEventsError,
    normalize_events,
)

QUOTED_CHARS = 40
DETAIL_CHARS = 200
MAX_URL_CHARS = 2000  # the column's width, after normalisation (percent-encoding may grow it)


@dataclass(frozen=True, slots=True)
class WebhookSubscription:
    url: str
    events: tuple[str, ...]


def webhook_guard(settings: WebhookSettings) -> UrlGuard:
    return UrlGuard.build(
        allowed_schemes=settings.allowed_schemes,
        allow_loopback=settings.allow_loopback,
        allowed_networks=settings.allowed_networks,
        refusal_code="invalid_webhook_url",
        subject="webhook URL",
    )


def _short(value: str, chars: int = QUOTED_CHARS) -> str:
    return value if len(value) <= chars else value[:chars] + "…"


# a DNS name or an IP address (httpx takes other characters, such as ``*``, as a host)
_HOST = re.compile(r"[A-Za-z0-9.-]+|[0-9A-Fa-f:.]+")


class WebhookRequest(Protocol):
    """A request that may subscribe a webhook (a generation's, a composition's)."""

    @property
    def webhook_url(self) -> str | None: ...

    @property
    def webhook_events(self) -> list[str] | None: ...


def subscription_of(
    request: WebhookRequest, settings: WebhookSettings
) -> WebhookSubscription | None:
    """The request's webhook, or None; a ``ProblemError`` when it cannot be accepted."""
    if request.webhook_url is None:
        if request.webhook_events is not None:
            raise ProblemError(
                "invalid_webhook_events",
                "webhook_events needs a webhook_url.",
                errors=[FieldError(path="webhook_events", message="no webhook_url given")],
            )
        return None
    try:
        events = normalize_events(request.webhook_events)
    except InvalidWebhookEventsError as exc:
        names = ", ".join(repr(_short(name)) for name in exc.unknown[:5])
        raise ProblemError(
            "invalid_webhook_events",
            f"Unknown webhook event {names}; known: {', '.join(WEBHOOK_EVENTS)}.",
            errors=[FieldError(path="webhook_events", message="unknown event name")],
        ) from exc
    if not events:
        raise ProblemError(
            "invalid_webhook_events",
            "webhook_events may not be empty; leave it out for the default (the final events).",
            errors=[FieldError(path="webhook_events", message="empty")],
        )
    try:
        url = httpx.URL(request.webhook_url)
        if url.userinfo:
            raise PermanentError(
                "invalid_webhook_url", "The webhook URL may not carry credentials."
            )
        if not _HOST.fullmatch(url.raw_host.decode("ascii", "replace")):
            raise ValueError("not a host name or address")
        webhook_guard(settings).check_url(url)
    except (httpx.InvalidURL, ValueError) as exc:  # UnicodeError is a ValueError
        raise ProblemError(
            "invalid_webhook_url",
            "The webhook URL is not a valid URL.",
            errors=[FieldError(path="webhook_url", message="not a URL")],
        ) from exc
    except PermanentError as exc:
        raise ProblemError(
            "invalid_webhook_url",
            _short(exc.message, DETAIL_CHARS),
            errors=[FieldError(path="webhook_url", message="refused by the SSRF guard")],
        ) from exc
    if len(str(url)) > MAX_URL_CHARS:
        raise ProblemError(
            "invalid_webhook_url",
            f"The webhook URL is longer than {MAX_URL_CHARS} characters once encoded.",
            errors=[FieldError(path="webhook_url", message="too long")],
        )
    return WebhookSubscription(url=str(url), events=tuple(events))
