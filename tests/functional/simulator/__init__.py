# SPDX-License-Identifier: Apache-2.0

"""Functional tests of the simulated host: they materialise it on disk."""
