"""LienThong routing service.

Finds the competent office for every dossier across boundaries: jurisdiction rules, office load, transfers and
inter-agency chains.
"""
