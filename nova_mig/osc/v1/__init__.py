"""Version 1 of the ``openstack mig`` commands."""
