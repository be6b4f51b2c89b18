# SPDX-License-Identifier: Apache-2.0

"""Demand-driven re-partitioning of the MIG geometry across the cloud."""
