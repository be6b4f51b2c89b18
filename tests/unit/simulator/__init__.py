"""Unit tests of the simulated host."""
