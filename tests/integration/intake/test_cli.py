"""``lienthong api-key create|revoke`` against the real FerretDB."""

from __future__ import annotations

import re

from pymongo import MongoClient
from typer.testing import CliRunner

from services.cli import app
from services.intake.domain.dossier import sha256_hex


def test_api_key_create_and_revoke(isolation: str, base_settings: dict[str, str]) -> None:
    """create prints a key once and stores only its hash bound to the office; revoke marks it; bad input fails."""
    database = f"{isolation}_intake"
    env = {"MONGODB_URL": base_settings["mongodb_url"], "INTAKE_MONGODB_DATABASE": database}
    runner = CliRunner()
    mongo: MongoClient = MongoClient(base_settings["mongodb_url"], serverSelectionTimeoutMS=3000)
    try:
        created = runner.invoke(app, ["api-key", "create", "--office", "00070.TTHCC"], env=env)
        assert created.exit_code == 0, created.output
        key = re.search(r"lt_[0-9a-f]+_\S+", created.output)
        assert key is not None
        (stored,) = list(mongo[database]["api_keys"].find())
        assert stored["secret_sha256"] == sha256_hex(key.group(0)) and stored["office_code"] == "00070.TTHCC"
        assert key.group(0) not in str(stored)

        revoked = runner.invoke(app, ["api-key", "revoke", stored["_id"]], env=env)
        assert revoked.exit_code == 0, revoked.output
        assert mongo[database]["api_keys"].find_one({"_id": stored["_id"]})["revoked_at"] is not None
        assert runner.invoke(app, ["api-key", "revoke", stored["_id"]], env=env).exit_code != 0
        assert runner.invoke(app, ["api-key", "create", "--office", "99999.TTHCC"], env=env).exit_code != 0
    finally:
        mongo.drop_database(database)
        mongo.close()
