# SPDX-License-Identifier: Apache-2.0

"""The ``openstack mig`` commands: an OpenStackClient plugin."""
