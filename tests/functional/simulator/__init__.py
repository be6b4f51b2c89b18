"""Functional tests of the simulated host: they materialise it on disk."""
