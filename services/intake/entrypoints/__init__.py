"""Entry points of the intake service: HTTP routes and Kafka consumers, a few lines each."""
