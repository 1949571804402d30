"""Domain of the routing service: rules and state, no I/O."""
