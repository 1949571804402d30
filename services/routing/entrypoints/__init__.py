"""Entry points of the routing service: HTTP routes and Kafka consumers, a few lines each."""
