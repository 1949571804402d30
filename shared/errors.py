"""Failure classes that decide what a consumer does with a message (ARCHITECTURE.md, "Failures")."""

from __future__ import annotations

from aiokafka.errors import KafkaConnectionError, KafkaTimeoutError, NodeNotReadyError
from pydantic import ValidationError
from pymongo.errors import AutoReconnect, ConnectionFailure, NetworkTimeout, ServerSelectionTimeoutError

from shared.envelope import EnvelopeError


class PermanentError(Exception):
    """Retrying cannot help (bad data, unknown reference): the message goes to the DLQ at once."""


class WriteConflict(Exception):
    """A conditional write lost its race more often than its retries allow (shared/store.py): try again later."""


#: Infrastructure is down (or, for a write conflict, too busy): do not dead-letter, hold the partition and
#: redeliver until it comes back.
INFRASTRUCTURE_ERRORS: tuple[type[Exception], ...] = (
    AutoReconnect,
    ConnectionFailure,
    NetworkTimeout,
    ServerSelectionTimeoutError,
    KafkaConnectionError,
    KafkaTimeoutError,
    NodeNotReadyError,
    ConnectionError,
    WriteConflict,
)

#: The message itself is bad: dead-letter at once.
PERMANENT_ERRORS: tuple[type[Exception], ...] = (PermanentError, EnvelopeError, ValidationError)
