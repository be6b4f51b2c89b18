# SPDX-License-Identifier: Apache-2.0

"""Flavors asking for MIG-backed vGPUs, and the MIG capacity of a cloud."""
