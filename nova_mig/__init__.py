# SPDX-License-Identifier: Apache-2.0

"""nova-mig: NVIDIA MIG-backed vGPUs as first-class in OpenStack Nova."""
