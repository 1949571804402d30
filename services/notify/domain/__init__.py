"""Domain of the notify service: rules and state, no I/O."""
