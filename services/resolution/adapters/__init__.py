"""Adapters of the resolution service: store repositories and outside systems."""
