# SPDX-License-Identifier: Apache-2.0

"""What the host layer needs of a GPU backend and of the libvirt wrapper.

:class:`Backend` is the part of a :class:`nova_mig.gpu.backend_api.GpuBackend`
that discovery, the in-use check and the reaper use: where sysfs and
libvirt are, the writer that changes devices through sysfs, and the GPUs.
It has no GPU-instance operation, so code typed against it (the reaper,
which deletes devices) cannot create or destroy one.

:class:`Libvirt` is the interface of :class:`nova_mig.host.virt.LibvirtHost`,
nova-mig's one libvirt wrapper, and :class:`LibvirtOpener` the way to open
one (the class itself); a caller given an opener can be run against a fake.
"""

import collections.abc
import typing

from nova_mig.gpu import backend_api
from nova_mig.model import gpu_records
from nova_mig.model import host_records


class Backend(typing.Protocol):
    """The host a GPU backend describes: sysfs, libvirt, GPUs."""

    def sysfs_root(self) -> str:
        """Root of the sysfs tree describing the host."""
        ...

    def libvirt_uri(self) -> str:
        """URI of the libvirt daemon managing the host's guests."""
        ...

    def sysfs_writer(self) -> backend_api.SysfsWriter:
        """The object that changes the host's devices through sysfs."""
        ...

    def list_gpus(self) -> list[gpu_records.Gpu]:
        """Every GPU of the host, ordered by NVML index."""
        ...


class Libvirt(typing.Protocol):
    """A libvirt connection: guests and mdev node devices.

    Every method raises :class:`nova_mig.exception.LibvirtError` when
    libvirt cannot be reached or fails.
    """

    def __enter__(self) -> 'Libvirt':
        ...

    def __exit__(self, *exc_info: object) -> None:
        ...

    def close(self) -> None:
        """Close the connection, best effort."""
        ...

    def domains(self) -> list[host_records.Domain]:
        """Every domain: running, paused, shut off and merely defined."""
        ...

    def domains_using(self, mdev_uuid: str | None = None,
                      pci_address: str | None = None
                      ) -> list[host_records.Domain]:
        """Every domain (any state) referencing an mdev or a PCI address."""
        ...

    def mdev_node_devices(self) -> list[host_records.MdevNodeDevice]:
        """Every node device of the mdev capability."""
        ...

    def define_mdev(self, uuid: str, parent: str, mdev_type: str) -> bool:
        """Define an mdev as an autostart node device; False if unable."""
        ...

    def undefine_node_device(self, names: collections.abc.Iterable[str]
                             ) -> str:
        """Undefine the first of ``names`` that is a node device.

        :returns: one of :data:`nova_mig.host.virt.UNDEFINED`, ``ABSENT``,
            ``UNSUPPORTED`` or ``TRANSIENT``.
        """
        ...


class LibvirtOpener(typing.Protocol):
    """Opens a :class:`Libvirt` (:class:`nova_mig.host.virt.LibvirtHost`)."""

    def __call__(self, uri: str, read_only: bool = True) -> Libvirt:
        ...
