# SPDX-License-Identifier: Apache-2.0

"""Discover a compute host: GPUs, MIG geometry, vGPU parents, devices, guests.

:func:`discover` joins what three sources say (the GPU backend, sysfs and
libvirt) into one :class:`nova_mig.model.host_records.HostReport`, the input of
every other nova-mig command.
"""

import logging
import socket

from nova_mig.host import protocols
from nova_mig.host import sysfs
from nova_mig.host import virt
from nova_mig.model import host_records

LOG = logging.getLogger(__name__)


def discover(backend: protocols.Backend, hostname: str | None = None
             ) -> host_records.HostReport:
    """Discover the host behind a GPU backend.

    :param backend: a :class:`nova_mig.gpu.backend_api.GpuBackend` (any
        :class:`nova_mig.host.protocols.Backend`); it also says where sysfs
        and libvirt are.
    :param hostname: the host's name; defaults to this machine's FQDN.
    :raises: :class:`nova_mig.exception.NovaMigException` subclasses naming
        the source that failed.
    """
    gpus = backend.list_gpus()
    reader = sysfs.SysfsReader(backend.sysfs_root())
    parents = reader.mdev_parents() + reader.vendor_vfio_parents()
    sriov = {}
    for gpu in gpus:
        pf = reader.sriov(gpu.pci_address)
        if pf is not None:
            sriov[gpu.pci_address] = pf
    with virt.LibvirtHost(backend.libvirt_uri()) as host:
        domains = host.domains()
        node_devices = host.mdev_node_devices()
    name = hostname or getattr(backend, 'hostname', None) or socket.getfqdn()
    return host_records.HostReport(
        hostname=name,
        device_mode=sysfs.mode_of(parents),
        gpus=gpus,
        parents=parents,
        mdevs=reader.mdevs(),
        sriov=sriov,
        domains=domains,
        node_devices=node_devices)
