# SPDX-License-Identifier: Apache-2.0

"""Layout round trips: export then assert holds on every example host.

Also a GPU instance without a compute instance and a pending MIG mode,
which the layout format says with ``compute_instance: false`` and the MIG
mode after the next reset, kept by the checkpoint through a reboot.
"""

import os

import yaml

from nova_mig.simulator import backend as simulated
from tests.functional import base

#: One A100 whose MIG enable waits for a reset, one with a GPU instance
#: that has no compute instance.
PENDING_HOST = {
    'version': 1, 'hostname': 'pending-host', 'device_mode': 'mdev',
    'vgpu_manager': True,
    'gpus': [
        {'model': 'A100-PCIE-80GB', 'pci_address': '0000:41:00.0',
         'mig_mode': {'current': 'disabled', 'pending': 'enabled'},
         'sriov_vfs': 20},
        {'model': 'A100-PCIE-80GB', 'pci_address': '0000:81:00.0',
         'mig_mode': 'enabled', 'sriov_vfs': 20,
         'gpu_instances': [
             {'profile': '3g.40gb', 'placement': 4},
             {'profile': '1g.10gb', 'placement': 0,
              'compute_instances': 0}]},
    ],
}


class TestExportAssert(base.CliTestCase):

    def _round_trip(self, host: str) -> dict:
        conf = self.write_conf(host)
        out_file = os.path.join(self.tmpdir, 'exported.yaml')
        rc, out, err = self.nova_mig('layout', 'export', '-o', out_file,
                                     conf_file=conf)
        self.assertEqual(0, rc, err)
        rc, out, err = self.nova_mig('layout', 'assert', out_file,
                                     conf_file=conf)
        self.assertEqual(0, rc, '%s: %s%s' % (host, out, err))
        with open(out_file) as stream:
            return yaml.safe_load(stream)

    def test_every_example_host(self):
        hosts = sorted(n for n in os.listdir(base.HOSTS_DIR)
                       if n.endswith('.yaml'))
        self.assertGreaterEqual(len(hosts), 5)
        for name in hosts:
            self._round_trip(base.host_file(name))

    def _pending_host(self) -> str:
        path = os.path.join(self.tmpdir, 'pending.yaml')
        with open(path, 'w') as stream:
            yaml.safe_dump(PENDING_HOST, stream)
        return path

    def test_gpu_instance_without_compute_instance(self):
        layout = self._round_trip(self._pending_host())
        gis = layout['gpus'][1]['gpu_instances']
        self.assertEqual([False], [gi['compute_instance'] for gi in gis
                                   if 'compute_instance' in gi])
        self.assertEqual(0, [gi['placement'] for gi in gis
                             if 'compute_instance' in gi][0])

    def test_pending_mig_mode(self):
        layout = self._round_trip(self._pending_host())
        self.assertEqual('enabled', layout['gpus'][0]['mig'])
        self.assertIn('MIG enabled pending a GPU reset',
                      layout['gpus'][0]['comment'])

    def test_restore_keeps_a_pending_mig_enable(self):
        host = self._pending_host()
        conf = self.write_conf(host)
        rc, out, err = self.nova_mig('layout', 'export', '-o',
                                     os.path.join(self.tmpdir, 'l.yaml'),
                                     conf_file=conf)
        self.assertEqual(0, rc, err)
        # An apply that changes nothing still writes the checkpoint.
        rc, out, err = self.nova_mig('layout', 'apply',
                                     os.path.join(self.tmpdir, 'l.yaml'),
                                     conf_file=conf)
        self.assertEqual(0, rc, out + err)
        self.flags(host_file=host, group='simulator')
        self.flags(state_dir=os.path.join(self.tmpdir, 'state'),
                   group='host')
        backend = simulated.SimulatedBackend(self.conf)
        backend.wipe()      # the reboot: the pending enable takes effect
        rc, out, err = self.nova_mig('layout', 'restore', conf_file=conf)
        self.assertEqual(0, rc, out + err)
        gpu = [g for g in backend.list_gpus()
               if g.pci_address == '0000:41:00.0'][0]
        self.assertTrue(gpu.mig_enabled)
