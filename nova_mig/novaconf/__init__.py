"""Generate nova-compute's configuration for this host's vGPUs."""
