"""Flavors asking for MIG-backed vGPUs, and the MIG capacity of a cloud."""
