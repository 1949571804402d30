"""Entry points of the resolution service: HTTP routes and Kafka consumers, a few lines each."""
