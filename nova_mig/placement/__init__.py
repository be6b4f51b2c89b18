# SPDX-License-Identifier: Apache-2.0

"""Placement: client, expected providers, sync and verify."""
