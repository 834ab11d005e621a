"""Tenants and the domains that reach them (DESIGN.md §2)."""
