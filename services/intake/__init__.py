"""LienThong intake service.

Receives dossiers from front-office apps and the portal: receipts, dossier codes, legal due dates,
supplements, counter queue tickets.
"""
