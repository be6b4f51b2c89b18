"""Placement: client, expected providers, sync and verify."""
