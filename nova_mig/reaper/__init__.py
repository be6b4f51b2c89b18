"""Orphan vGPU device reaper: decide, journal and remove."""
