"""LienThong notify service.

Tells citizens of every status change: SMS with provider failover and receipts, live app updates, webhooks,
e-mail.
"""
