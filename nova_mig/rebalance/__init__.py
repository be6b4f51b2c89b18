"""Demand-driven re-partitioning of the MIG geometry across the cloud."""
