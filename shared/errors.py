"""Failure classes that decide what a consumer does with a message (ARCHITECTURE.md, "Failures")."""

from __future__ import annotations

from aiokafka.errors import KafkaConnectionError, KafkaTimeoutError, NodeNotReadyError
from pydantic import ValidationError
from pymongo.errors import AutoReconnect, ConnectionFailure, NetworkTimeout, ServerSelectionTimeoutError

from shared.envelope import EnvelopeError


class PermanentError(Exception):
    """Retrying cannot help (bad data, unknown reference): the message goes to the DLQ at once."""


#: Infrastructure is down: do not dead-letter, hold the partition and redeliver until it comes back.
INFRASTRUCTURE_ERRORS: tuple[type[Exception], ...] = (
    AutoReconnect,
    ConnectionFailure,
    NetworkTimeout,
    ServerSelectionTimeoutError,
    KafkaConnectionError,
    KafkaTimeoutError,
    NodeNotReadyError,
    ConnectionError,
)

#: The message itself is bad: dead-letter at once.
PERMANENT_ERRORS: tuple[type[Exception], ...] = (PermanentError, EnvelopeError, ValidationError)
