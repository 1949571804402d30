"""Adapters of the notify service: store repositories and outside systems."""
