"""nova-mig: NVIDIA MIG-backed vGPUs as first-class in OpenStack Nova."""
