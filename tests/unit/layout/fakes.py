# SPDX-License-Identifier: Apache-2.0

"""Layout test fakes: GPUs from the simulator's catalog, a step context."""

from unittest import mock

from nova_mig.gpu import backend_api
from nova_mig.host import sysfs
from nova_mig.host import virt
from nova_mig.model import constants
from nova_mig.model import gpu_records
from nova_mig.model import host_records
from nova_mig import ownership
from nova_mig.simulator import gpu_catalog


def gpu(model: str = 'A100-PCIE-80GB', index: int = 0,
        gpu_instances=()) -> gpu_records.Gpu:
    entry = gpu_catalog.default_catalog().get(model)
    return gpu_records.Gpu(
        index=index, pci_address='0000:%02x:00.0' % (0x41 + index),
        uuid='GPU-00000000-0000-4000-8000-%012d' % index,
        name=entry.nvml_name, pci_device_id=entry.pci_device_id,
        memory_total_mb=entry.memory_total_mb,
        compute_capability=entry.compute_capability,
        mig_current=gpu_records.MIG_ENABLED,
        mig_pending=gpu_records.MIG_ENABLED,
        profiles=entry.profiles, gpu_instances=tuple(gpu_instances),
        vgpu_types=entry.vgpu_types)


def gi(card: gpu_records.Gpu, gi_id: int, profile: str,
       start: int) -> gpu_records.GpuInstance:
    prof = card.profile_by_name(profile)
    return gpu_records.GpuInstance(
        id=gi_id, profile_id=prof.id, profile_name=prof.name,
        placement=gpu_records.Placement(start, prof.placements[0].size),
        compute_instances=(gpu_records.ComputeInstance(0, 0),))


def report(*gpus: gpu_records.Gpu) -> host_records.HostReport:
    """A host without vGPU devices, SR-IOV or domains."""
    return host_records.HostReport(
        hostname='h', device_mode=constants.MODE_NONE, gpus=list(gpus),
        parents=[], mdevs=[], sriov={}, domains=[], node_devices=[])


class FakeContext:
    """A :class:`steps.Context` whose every effect is recorded."""

    def __init__(self, root: str):
        self.calls = mock.Mock()
        self.backend = mock.create_autospec(backend_api.GpuBackend,
                                            instance=True)
        self.reader = sysfs.SysfsReader(root)
        self.writer = mock.Mock()
        self.owned = mock.create_autospec(ownership.OwnershipRecord,
                                          instance=True)
        self.nodedevs = mock.create_autospec(virt.NodeDevices,
                                             instance=True)
        for name in ('backend', 'writer', 'owned', 'nodedevs'):
            self.calls.attach_mock(getattr(self, name), name)
        self.sriov_manage: str | None = None
        self.reset_gpu = False
        self.gi_ids: dict[tuple[str, int], int] = {}
        self.users: list[str] = []

    def gpu_users(self, address: str) -> list[str]:
        return self.users

    def vgpu_uuid(self, vf: str) -> str | None:
        return 'vgpu-of-' + vf
