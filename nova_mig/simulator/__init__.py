# SPDX-License-Identifier: Apache-2.0

"""The simulated host: a kernel and GPU stand-in for demos and tests."""
