"""Domain of the resolution service: rules and state, no I/O."""
