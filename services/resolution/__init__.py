"""LienThong resolution service.

Officials process dossiers: worklists, actions, the legal clock, overdue flags and apology letters, signed
results, operations-centre figures.
"""
