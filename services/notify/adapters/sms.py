"""SMS providers behind one port, and a sender that fails over between them by priority."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol

import httpx
from tenacity import AsyncRetrying, retry_if_exception_type, stop_after_attempt, wait_exponential

from services.notify.domain.ports import Accepted, SmsMessage
from services.notify.settings import SmsProviderConfig
from shared.logging import get_logger

log = get_logger(__name__)


class SmsError(Exception):
    """A provider did not accept the message."""


class SmsProvider(Protocol):
    """The port every SMS provider implements."""

    name: str
    priority: int

    async def send(self, message: SmsMessage) -> Accepted:
        """Hand the message to the provider or raise SmsError."""
        ...


class FileSmsProvider:
    """Development provider: one JSON line per SMS appended to a file (no receipts)."""

    def __init__(self, name: str, priority: int, path: str) -> None:
        self.name, self.priority, self.path = name, priority, Path(path)
        self._lock = asyncio.Lock()
        self._sent: set[str] | None = None  # idempotency keys already in the file

    async def send(self, message: SmsMessage) -> Accepted:
        async with self._lock:
            if self._sent is None:
                self._sent = await asyncio.to_thread(self._keys_in_file)
            if message.reference and message.reference in self._sent:
                return Accepted(self.name, None, awaits_receipt=False)  # a re-send after a crash: once only
            await asyncio.to_thread(self._append, self._line(message))
            if message.reference:
                self._sent.add(message.reference)
        return Accepted(self.name, None, awaits_receipt=False)

    def _keys_in_file(self) -> set[str]:
        if not self.path.exists():
            return set()
        keys = set()
        with self.path.open(encoding="utf-8") as f:
            for line in f:
                try:
                    key = json.loads(line).get("idempotency_key")
                except ValueError:
                    continue
                if key:
                    keys.add(key)
        return keys

    def _line(self, message: SmsMessage) -> str:
        return json.dumps(
            {
                "to": message.to,
                "text": message.text,
                "dossier_code": message.dossier_code,
                "event_id": message.event_id,
                "provider": self.name,
                "sent_at": datetime.now(UTC).isoformat(),
                "idempotency_key": message.reference or None,
            },
            ensure_ascii=False,
        )

    def _append(self, line: str) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("a", encoding="utf-8") as f:
            f.write(line + "\n")


class HttpSmsGateway:
    """A brand-name SMS gateway: JSON POST with an API key; answers a message id; receipts come back later."""

    def __init__(self, config: SmsProviderConfig, client: httpx.AsyncClient) -> None:
        if not config.url:
            raise ValueError(f"SMS provider {config.name} needs a url")
        self.name, self.priority, self._config, self._client = config.name, config.priority, config, client

    async def send(self, message: SmsMessage) -> Accepted:
        key = self._config.api_key
        headers = {self._config.api_key_header: key.get_secret_value()} if key else {}
        body = {"to": message.to, "text": message.text, "reference": message.reference}
        # the gateway drops a second message with the same key: a re-send after a crash is safe
        headers["Idempotency-Key"] = message.reference
        try:
            # a dropped connection is retried here, at the edge; an error answer fails over at once
            async for attempt in AsyncRetrying(
                stop=stop_after_attempt(3),
                wait=wait_exponential(multiplier=0.1, max=1),
                retry=retry_if_exception_type(httpx.TransportError),
                reraise=True,
            ):
                with attempt:
                    response = await self._client.post(str(self._config.url), json=body, headers=headers, timeout=5)
        except httpx.HTTPError as exc:
            raise SmsError(f"{self.name}: {type(exc).__name__}") from exc
        if response.status_code >= 300:
            raise SmsError(f"{self.name}: HTTP {response.status_code}")
        try:
            message_id = (response.json() or {}).get("message_id") if response.content else None
        except ValueError:  # a gateway that answers 200 with plain text still took the message
            message_id = None
        return Accepted(self.name, message_id, awaits_receipt=self._config.receipts)


class FailoverSender:
    """Tries providers by priority; a failing one is demoted for ``cooldown`` seconds, then recovers."""

    def __init__(
        self,
        providers: list[SmsProvider],
        *,
        cooldown: float,
        monotonic: Callable[[], float] = time.monotonic,
        observer: Callable[[str, bool], None] | None = None,
    ) -> None:
        if not providers:
            raise ValueError("at least one SMS provider is needed")
        self.providers = providers
        self.cooldown = cooldown
        self._monotonic = monotonic
        self._demoted_until: dict[str, float] = {}
        # told (provider, accepted) after every hand-off: the metrics of provider health
        self.observer = observer

    def order(self) -> list[SmsProvider]:
        """Providers to try: healthy ones by priority, then demoted ones (soonest to recover first)."""
        now = self._monotonic()

        def rank(p: SmsProvider) -> tuple[bool, float, int]:
            until = self._demoted_until.get(p.name, 0.0)
            return (until > now, until if until > now else 0.0, p.priority)

        return sorted(self.providers, key=rank)

    def demoted(self) -> list[str]:
        """Names of providers currently demoted after a failure."""
        now = self._monotonic()
        return [name for name, until in self._demoted_until.items() if until > now]

    async def send(self, message: SmsMessage) -> Accepted:
        """Send through the first provider that accepts; SmsError when none does."""
        errors = []
        for provider in self.order():
            try:
                accepted = await provider.send(message)
            except SmsError as exc:
                if self.observer is not None:
                    self.observer(provider.name, False)
                # GOV.UK Notify style: a failing provider drops to the back of the queue for a while
                self._demoted_until[provider.name] = self._monotonic() + self.cooldown
                log.warning(
                    "sms_provider_failed",
                    provider=provider.name,
                    error=str(exc),
                    notification_id=message.notification_id,
                )
                errors.append(str(exc))
                continue
            if self.observer is not None:
                self.observer(provider.name, True)
            if self._demoted_until.pop(provider.name, None) is not None:
                log.info("sms_provider_recovered", provider=provider.name)
            return accepted
        raise SmsError("; ".join(errors))


def build_sender(
    configs: list[SmsProviderConfig], *, outbox_path: str, cooldown: float, client: httpx.AsyncClient
) -> FailoverSender:
    """The sender for the configured providers."""
    providers: list[SmsProvider] = []
    for c in configs:
        if c.kind == "file":
            providers.append(FileSmsProvider(c.name, c.priority, outbox_path))
        elif c.kind == "http":
            providers.append(HttpSmsGateway(c, client))
        else:
            raise ValueError(f"unknown SMS provider kind {c.kind!r}")
    return FailoverSender(providers, cooldown=cooldown)
