# SPDX-License-Identifier: Apache-2.0

"""Prometheus metrics of a host and of the cloud, in node_exporter's format."""
