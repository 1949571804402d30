"""The API key cache of two intake instances on one real store: a revocation stops the key on its next request
on both, although both hold it verified in their caches."""

from __future__ import annotations

from datetime import UTC, datetime

from services.intake import handlers
from services.intake.adapters.repositories import MongoApiKeys
from services.intake.bootstrap import bootstrap
from services.intake.domain.dossier import sha256_hex
from services.intake.entrypoints.deps import deps_of
from services.intake.settings import IntakeSettings
from shared.store import make_mongo_client, service_database
from tests.integration.intake.conftest import OFFICE
from tests.support.service import drop_databases, running


async def test_revocation_reaches_every_instance_on_the_next_request(intake_settings: IntakeSettings) -> None:
    """Both instances cache the key (a time to live far longer than the test); after `api-key revoke` done on the
    store by a third party (the command line), the very next request on each instance is 401."""
    settings = intake_settings.model_copy(update={"api_key_cache_ttl": 3600.0})
    first, second = bootstrap(settings), bootstrap(settings)
    try:
        async with running(first) as a, running(second) as b:
            key_id, key = await handlers.create_api_key(OFFICE, keys=deps_of(first).api_keys, now=datetime.now(UTC))
            auth = {"Authorization": f"Bearer {key}"}
            for client in (a, b, a, b):
                assert (await client.get("/v1/dossiers/none", headers=auth)).status_code == 404  # authenticated
            for app in (first, second):
                assert deps_of(app).key_cache.get(sha256_hex(key)) is not None, "the key is served from the cache"
            cli = make_mongo_client(settings)
            try:
                keys = MongoApiKeys(service_database(cli, settings))
                assert await handlers.revoke_api_key(key_id, keys=keys, now=datetime.now(UTC))
            finally:
                cli.close()
            for client in (a, b):
                refused = await client.get("/v1/dossiers/none", headers=auth)
                assert (refused.status_code, refused.json()["code"]) == (401, "unauthorized")
    finally:
        await drop_databases(settings.mongodb_url, settings.mongodb_database)
