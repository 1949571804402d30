"""The store commands a motor/pymongo client sends, by name: round trips counted on the real client."""

from __future__ import annotations

from pymongo import monitoring

#: driver housekeeping, not a use case's round trips
HOUSEKEEPING = frozenset({"hello", "isMaster", "ismaster", "ping", "endSessions", "saslStart", "saslContinue"})


class Commands(monitoring.CommandListener):
    """Pass as ``event_listeners=[commands]`` to a client; ``names`` lists what it sent since the last clear."""

    def __init__(self) -> None:
        self.names: list[str] = []

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        if event.command_name not in HOUSEKEEPING:
            self.names.append(event.command_name)

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        pass

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        pass
