"""Styrkedja's governance domain: aggregates, rules and application services."""
