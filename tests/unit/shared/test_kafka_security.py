"""Kafka SASL/TLS settings map onto the options of every client (broker, admin, DLQ tools), and secret files load."""

from __future__ import annotations

import ssl
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry
from pydantic import ValidationError

from shared.broker import kafka_client_options, kafka_security, make_broker, topic_configs
from shared.settings import DAY_MS, BaseServiceSettings


def _settings(**values: object) -> BaseServiceSettings:
    return BaseServiceSettings(kafka_bootstrap_servers="b1:9093,b2:9093", **values)  # type: ignore[arg-type]


def test_plaintext_by_default_adds_nothing() -> None:
    """Without security settings the clients connect as before: only the servers."""
    assert kafka_security(_settings()) is None
    assert kafka_client_options(_settings()) == {"bootstrap_servers": "b1:9093,b2:9093"}


@pytest.mark.parametrize("mechanism", ["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"])
def test_sasl_ssl_maps_mechanism_credentials_and_tls(mechanism: str, tmp_path: Path) -> None:
    """SASL_SSL gives aiokafka the protocol, the mechanism, the user's credentials and a verifying TLS context."""
    options = kafka_client_options(
        _settings(
            kafka_security_protocol="SASL_SSL",
            kafka_sasl_mechanism=mechanism,
            kafka_sasl_username="svc-intake",
            kafka_sasl_password="s3cret",
        )
    )
    assert options["security_protocol"] == "SASL_SSL"
    assert options["sasl_mechanism"] == mechanism
    assert options["sasl_plain_username"] == "svc-intake"
    assert options["sasl_plain_password"] == "s3cret"
    context = options["ssl_context"]
    assert isinstance(context, ssl.SSLContext)
    assert context.verify_mode == ssl.CERT_REQUIRED and context.check_hostname


def test_sasl_plaintext_has_no_tls_context() -> None:
    """SASL_PLAINTEXT authenticates without TLS (inside a trusted network only)."""
    options = kafka_client_options(
        _settings(kafka_security_protocol="SASL_PLAINTEXT", kafka_sasl_username="u", kafka_sasl_password="p")
    )
    assert options["security_protocol"] == "SASL_PLAINTEXT"
    assert options["ssl_context"] is None
    assert options["sasl_mechanism"] == "SCRAM-SHA-512"


def test_ssl_with_hostname_check_off() -> None:
    """SSL alone gives a TLS context; the hostname check follows its setting."""
    options = kafka_client_options(_settings(kafka_security_protocol="SSL", kafka_ssl_check_hostname=False))
    assert options["security_protocol"] == "SSL"
    assert options["ssl_context"].check_hostname is False
    assert "sasl_mechanism" not in options


def test_sasl_without_credentials_is_refused() -> None:
    """A SASL protocol without user and password fails at start, naming the missing variables."""
    with pytest.raises(ValidationError, match="KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD"):
        _settings(kafka_security_protocol="SASL_SSL")


def test_client_certificate_needs_its_key() -> None:
    """Mutual TLS needs both the certificate and its key."""
    with pytest.raises(ValidationError, match="KAFKA_SSL_CERTFILE and KAFKA_SSL_KEYFILE"):
        _settings(kafka_security_protocol="SSL", kafka_ssl_certfile="/tmp/cert.pem")


def test_the_service_broker_carries_the_security_options() -> None:
    """The FastStream broker (producer and consumers) connects with the same SASL options."""
    broker = make_broker(
        _settings(kafka_security_protocol="SASL_SSL", kafka_sasl_username="svc", kafka_sasl_password="pw"),
        registry=CollectorRegistry(),
    )
    kwargs = broker._connection_kwargs
    assert kwargs["security_protocol"] == "SASL_SSL"
    assert kwargs["sasl_mechanism"] == "SCRAM-SHA-512"
    assert kwargs["sasl_plain_username"] == "svc"


def test_topic_configs_state_retention_and_min_isr() -> None:
    """New topics get explicit retention (DLQs much longer) and min ISR 2 once replicated three times."""
    settings = _settings()
    events = topic_configs(settings, dead_letters=False, replication_factor=3)
    dlq = topic_configs(settings, dead_letters=True, replication_factor=3)
    assert events["retention.ms"] == str(7 * DAY_MS)
    assert dlq["retention.ms"] == str(90 * DAY_MS)
    assert events["min.insync.replicas"] == dlq["min.insync.replicas"] == "2"
    assert topic_configs(settings, dead_letters=False, replication_factor=1)["min.insync.replicas"] == "1"


def test_secret_files_from_secrets_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """With SECRETS_DIR set, a file named like a variable is that setting (Docker/Kubernetes secrets)."""
    (tmp_path / "PII_HASH_KEY").write_text("from-a-secret-file")
    (tmp_path / "KAFKA_SASL_PASSWORD").write_text("kafka-pw")
    monkeypatch.delenv("PII_HASH_KEY", raising=False)
    monkeypatch.delenv("KAFKA_SASL_PASSWORD", raising=False)
    monkeypatch.setenv("SECRETS_DIR", str(tmp_path))
    monkeypatch.setenv("KAFKA_SASL_USERNAME", "svc")
    monkeypatch.setenv("KAFKA_SECURITY_PROTOCOL", "SASL_SSL")
    settings = BaseServiceSettings()
    assert settings.pii_hash_key.get_secret_value() == "from-a-secret-file"
    assert settings.kafka_sasl_password is not None
    assert settings.kafka_sasl_password.get_secret_value() == "kafka-pw"
    monkeypatch.setenv("PII_HASH_KEY", "from-the-environment")
    assert BaseServiceSettings().pii_hash_key.get_secret_value() == "from-the-environment"
