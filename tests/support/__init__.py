"""Helpers for tests that talk to the real Kafka and the real store."""
