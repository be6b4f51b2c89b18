# SPDX-License-Identifier: Apache-2.0

"""Generate nova-compute's configuration for this host's vGPUs."""
