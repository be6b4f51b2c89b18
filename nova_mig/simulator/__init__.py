"""The simulated host: a kernel and GPU stand-in for demos and tests."""
