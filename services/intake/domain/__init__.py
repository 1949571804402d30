"""Domain of the intake service: rules and state, no I/O."""
