"""The ``openstack mig`` commands: an OpenStackClient plugin."""
