"""Adapters of the routing service: store repositories and outside systems."""
