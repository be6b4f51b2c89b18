"""nova-mig: NVIDIA MIG-backed vGPUs as first-class citizens in OpenStack Nova."""
