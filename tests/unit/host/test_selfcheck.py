# SPDX-License-Identifier: Apache-2.0

"""The self-check's comparisons, on reports with injected disagreements.

sysfs is a small tree in a temporary directory: a PF with its vendor,
device and driver link, as the kernel lays it out.
"""

import dataclasses
import os

from nova_mig.host import selfcheck
from nova_mig.model import constants
from nova_mig.model import gpu_records
from nova_mig.model import host_records
from tests import base
from tests.unit.novaconf import fakes

UUID = '5b2f9c1e-0d3a-4d55-9a0b-1f2e3d4c5b6a'


class SelfCheckTestCase(base.TestCase):

    def setUp(self):
        super().setUp()
        self.root = os.path.join(self.tmpdir, 'sys')
        self.pci_function(fakes.PF0, '0x20b5')

    def pci_function(self, address, device):
        path = os.path.join(self.root, 'bus', 'pci', 'devices', address)
        os.makedirs(path)
        for name, value in (('vendor', '0x10de'), ('device', device)):
            with open(os.path.join(path, name), 'w') as f:
                f.write(value + '\n')
        drivers = os.path.join(self.root, 'bus', 'pci', 'drivers', 'nvidia')
        os.makedirs(drivers, exist_ok=True)
        os.symlink(drivers, os.path.join(path, 'driver'))

    def check(self, report, reference=None):
        findings = selfcheck.check(report, self.root, reference)
        return {(f.check, f.subject, f.status): f.detail for f in findings}

    def test_libvirt_and_nvml_against_sysfs(self):
        report, vfs = fakes.mixed_report()
        active = gpu_records.ActiveVgpu(UUID, 1, 1, vfs[0])
        report.gpus[0] = dataclasses.replace(report.gpus[0],
                                             active_vgpus=(active,))
        other = '8d1e5a3c-2b4f-4c6d-8e9f-0a1b2c3d4e5f'
        report.mdevs.append(host_records.Mdev(other, 'nvidia-1', vfs[1], 7))
        report.node_devices.append(host_records.MdevNodeDevice(
            'mdev_' + UUID.replace('-', '_'), UUID, vfs[0], 'nvidia-1'))
        report.domains += [
            host_records.Domain('instance-1', 'u1', 'running', True, True,
                                (UUID,), ()),
            host_records.Domain('instance-2', 'u2', 'shutoff', True, True,
                                (UUID,), ())]
        rows = self.check(report)
        self.assertEqual('NVML runs it on %s; sysfs has no such mdev'
                         % fakes.PF0, rows[('vgpu device', UUID, 'differs')])
        self.assertIn('(defined, not started)',
                      rows[('libvirt', UUID, 'note')])
        self.assertEqual('sysfs has this mdev, libvirt lists no node device '
                         'for it', rows[('libvirt', other, 'differs')])
        self.assertEqual('domain (running) uses mdev %s, which sysfs does '
                         'not have' % UUID,
                         rows[('libvirt', 'instance-1', 'differs')])
        # A stopped guest holds nothing yet: a note.
        self.assertIn(('libvirt', 'instance-2', 'note'), rows)
        self.assertEqual(3, len(selfcheck.disagreements(
            selfcheck.check(report, self.root, None))))

    def test_vendor_vfio_against_nvml(self):
        report, vfs = fakes.rtx_report(
            2, [fakes.rtx_gi(1, '1g.24gb+gfx', 0)])
        self.pci_function(fakes.RTX_PF, '0x2bb5')
        report.parents[0] = dataclasses.replace(
            report.parents[0], gpu_instance_id=5, types=report.parents[0]
            .types + (host_records.MdevType('9', 'NVIDIA DC-9Q', {}, 1,
                                            'vfio-pci', ()),))
        rows = self.check(report)
        self.assertEqual('nvidia/gpu_instance_id says 5; NVML has GPU '
                         'instances [1] on %s' % fakes.RTX_PF,
                         rows[('gpu instance', vfs[0], 'differs')])
        self.assertEqual('sysfs offers DC-9Q, which NVML does not list for '
                         'this GPU',
                         rows[('vgpu types', fakes.RTX_PF, 'differs')])
        self.assertEqual(constants.MODE_VENDOR_VFIO, report.device_mode)

    def test_a_profile_nova_mig_refuses_to_guess_differs(self):
        old = tuple(dataclasses.replace(t, gpu_instance_profile_id=None,
                                        profile_from_driver=False)
                    for t in fakes.RTX_TYPES)
        report, _vfs = fakes.rtx_report(1, [], vgpu_types=old)
        self.pci_function(fakes.RTX_PF, '0x2bb5')
        rows = self.check(report)
        self.assertIn('install nvidia-ml-py 11.460.79 or later',
                      rows[('mapping', fakes.RTX_PF, 'differs')])

    def test_catalog_by_pci_id_and_profile_table(self):
        report, _vfs = fakes.mixed_report()
        card = {'key': 'A100-PCIE-80GB', 'pci_device': 0x20b5,
                'nvml_name': 'x', 'vgpu_types': [],
                'profiles': [{'id': p.id, 'name': p.name,
                              'instances': p.instance_count}
                             for p in report.gpus[0].profiles]}
        # A 4500 entry of the same "board" does not match a 0x20b5.
        other = dict(card, key='OTHER', pci_device=0x2c3a, profiles=[])
        self.assertEqual('matches A100-PCIE-80GB', self.check(
            report, [other, card])[('catalog', fakes.PF0, 'ok')])
        missing = dict(card, profiles=card['profiles'] + [
            {'id': 47, 'name': '1g.20gb+gfx', 'instances': 4}])
        self.assertEqual(
            'catalog A100-PCIE-80GB has profile 1g.20gb+gfx (ID 47), NVML '
            'does not (nvidia-ml-py older than 12.575 lists no '
            '+gfx/-me/+me.all profile)',
            self.check(report, [missing])[('catalog', fakes.PF0, 'differs')])

    def test_pci_function_missing(self):
        report, _vfs = fakes.mixed_report()
        report.gpus.append(fakes.a100(address='0000:c1:00.0', index=1))
        rows = self.check(report)
        self.assertIn('sysfs has no %s' % os.path.join(
            self.root, 'bus/pci/devices/0000:c1:00.0'),
            rows[('pci function', '0000:c1:00.0', 'differs')])
