# SPDX-License-Identifier: Apache-2.0

"""Workflows that span features: nova-compute hooks, vGPU type changes."""
