"""Adapters of the intake service: store repositories and outside systems."""
