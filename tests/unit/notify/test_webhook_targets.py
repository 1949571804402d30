"""Where webhooks may go: public addresses only, checked at registration and at every delivery (SSRF)."""

from __future__ import annotations

import ipaddress

import httpx
import pytest

from services.notify.adapters.webhooks import HttpWebhookClient, UnsafeWebhookUrl, WebhookUnreachable
from services.notify.domain.webhooks import url_problem

ATTACKS = [
    "http://169.254.169.254/latest/meta-data/",
    "http://127.0.0.1:27017/",
    "http://[::1]/",
    "http://10.0.0.5/",
    "http://0x7f000001/",
    "http://2130706433/",
    "http://0177.0.0.1/",
    "http://127.1/",
    "http://metadata.google.internal/computeMetadata/v1/",
    "http://[::ffff:169.254.169.254]/",
    "http://100.64.0.1/",
    "http://192.168.1.1/",
    "http://172.16.0.1/",
    "http://0.0.0.0/",
    "http://240.0.0.1/",
    "http://user:pw@hooks.example.vn/",
    "file:///etc/passwd",
]


@pytest.mark.parametrize("url", ATTACKS)
def test_internal_and_numeric_targets_are_refused(url: str) -> None:
    """Each address of the issue (and its relatives) is refused from the URL alone."""
    assert url_problem(url, production=False) is not None


def test_production_takes_https_only_and_public_names_pass() -> None:
    """http is refused in production; a public https name passes the text check."""
    assert url_problem("http://hooks.example.vn/x", production=True) == "the scheme must be https"
    assert url_problem("https://hooks.example.vn/x", production=True) is None
    assert url_problem("http://cafe.de/x", production=False) is None  # letters a-f are a name, not hex


def client(addresses: list[list[str]], handler: httpx.MockTransport | None = None) -> HttpWebhookClient:
    """A webhook client whose resolver answers ``addresses`` in turn (a rebinding DNS server)."""
    answers = list(addresses)

    async def resolver(host: str, port: int) -> list[str]:
        return answers.pop(0) if len(answers) > 1 else answers[0]

    transport = handler or httpx.MockTransport(lambda request: httpx.Response(200))
    return HttpWebhookClient(httpx.AsyncClient(transport=transport), timeout=2, production=False, resolver=resolver)


async def test_a_name_resolving_to_an_internal_address_is_refused_at_registration() -> None:
    """A public-looking name with an A record to 10.0.0.5 (or any one of several records) is refused."""
    with pytest.raises(UnsafeWebhookUrl, match="private"):
        await client([["10.0.0.5"]]).check("https://hooks.example.vn/")
    with pytest.raises(UnsafeWebhookUrl, match="loopback"):
        await client([["93.184.216.34", "127.0.0.1"]]).check("https://hooks.example.vn/")


async def test_dns_rebinding_after_registration_is_refused_at_delivery() -> None:
    """Public at registration, internal at delivery: the delivery is refused and nothing is sent."""
    seen: list[httpx.Request] = []
    webhooks = client(
        [["93.184.216.34"], ["169.254.169.254"]],
        httpx.MockTransport(lambda request: seen.append(request) or httpx.Response(200)),
    )
    assert await webhooks.check("https://hooks.example.vn/") == "93.184.216.34"
    with pytest.raises(WebhookUnreachable, match="refused"):
        await webhooks.post("https://hooks.example.vn/", body=b"{}", headers={})
    assert seen == []


async def test_delivery_connects_to_the_checked_address_and_does_not_follow_redirects() -> None:
    """The connection goes to the address that was checked (Host kept); a 302 is an answer, not followed."""
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(302, headers={"location": "http://169.254.169.254/"})

    webhooks = client([["93.184.216.34"]], httpx.MockTransport(handler))
    assert await webhooks.post("https://hooks.example.vn:8443/h?x=1", body=b"{}", headers={}) == 302
    (request,) = seen
    assert request.url.host == "93.184.216.34" and request.url.port == 8443 and request.url.path == "/h"
    assert request.headers["host"] == "hooks.example.vn:8443"
    assert request.extensions["sni_hostname"] == "hooks.example.vn"


async def test_allowed_networks_let_an_operator_reach_a_known_internal_subscriber() -> None:
    """NOTIFY_WEBHOOK_ALLOWED_NETWORKS exempts exactly the networks it names."""
    webhooks = HttpWebhookClient(
        httpx.AsyncClient(),
        timeout=1,
        production=False,
        allowed_networks=(ipaddress.ip_network("10.20.0.0/16"),),
        resolver=lambda host, port: _answer(["10.20.1.2"]),
    )
    assert await webhooks.check("http://app.internal-partner.vn/") == "10.20.1.2"
    with pytest.raises(UnsafeWebhookUrl):
        await webhooks.check("http://10.21.0.1/")


async def _answer(addresses: list[str]) -> list[str]:
    return addresses


def test_live_streams_are_capped_per_dossier_and_per_client() -> None:
    """A dossier or a client at its cap gets 429; a closed stream frees its slot once (release is idempotent)."""
    from services.notify.adapters.live import StreamSlots
    from shared.http import ApiError

    slots = StreamSlots(per_dossier=2, per_client=3)
    first, _ = slots.take("d1", "c1"), slots.take("d1", "c2")
    with pytest.raises(ApiError, match="this dossier") as refused:
        slots.take("d1", "c3")
    assert refused.value.status == 429 and refused.value.headers == {"Retry-After": "30"}
    slots.take("d2", "c1"), slots.take("d3", "c1")
    with pytest.raises(ApiError, match="this client"):
        slots.take("d4", "c1")
    slots.release(first)
    slots.release(first)
    slots.take("d1", "c4")
    with pytest.raises(ApiError):
        slots.take("d1", "c5")
    assert slots.open_streams() == 4
