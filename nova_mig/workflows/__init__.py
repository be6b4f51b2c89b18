"""Workflows that span features: nova-compute hooks, vGPU type changes."""
