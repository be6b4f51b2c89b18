"""Unit tests of the openstack mig plugin."""
