# SPDX-License-Identifier: Apache-2.0

"""Plain typed data shared by every nova-mig package."""
