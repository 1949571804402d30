"""Entry points of the notify service: HTTP routes and Kafka consumers, a few lines each."""
