# SPDX-License-Identifier: Apache-2.0

"""Declarative MIG and vGPU layouts: validate, plan, apply, export, restore."""
