"""Placement: client, sync of classes and traits, verify, embedded."""
