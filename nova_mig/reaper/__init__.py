# SPDX-License-Identifier: Apache-2.0

"""Orphan vGPU device reaper: decide, journal and remove."""
