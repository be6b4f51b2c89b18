# SPDX-License-Identifier: Apache-2.0

"""Capture a host with ``discover --host-file`` and replay it.

The replayed host must discover as the original did: on every example
host (simulated backend) and on GPUs read through the pynvml double.
"""

import json
import os

import testscenarios
import yaml

from nova_mig import gpu
from nova_mig.gpu import nvml
from nova_mig.host import capture
from nova_mig.host import discovery
from nova_mig.model import host_records
from tests.functional import base
from tests.unit.privsep import fake_cards
from tests.unit.privsep import fake_pynvml

load_tests = testscenarios.load_tests_apply_scenarios


class CaptureTestCase(base.CliTestCase):

    def replay(self, document: dict, name: str = 'captured.yaml') -> dict:
        path = os.path.join(self.tmpdir, name)
        with open(path, 'w') as f:
            yaml.safe_dump(document, f, sort_keys=False)
        self.flags(backend='simulated', group='gpu')
        self.flags(host_file=path, group='simulator',
                   work_dir=os.path.join(self.tmpdir, 'replay'))
        return discovery.discover(gpu.load_backend(self.conf)).as_dict()


class TestCaptureExampleHosts(CaptureTestCase):

    scenarios = [(name, {'host': name}) for name in (
        'a100-mixed.yaml', 'h100-sxm5-8x.yaml', 'h200-vendor-vfio.yaml',
        'h200-vendor-vfio-uniform.yaml', 't4-orphans.yaml',
        'rtx-pro-6000-vendor-vfio.yaml', 'b200-hgx.yaml')]

    def test_replay_discovers_as_the_original(self):
        conf = self.write_conf(base.host_file(self.host))
        out_file = os.path.join(self.tmpdir, 'out.yaml')
        rc, out, err = self.nova_mig('discover', '-f', 'json',
                                     '--host-file', out_file,
                                     conf_file=conf)
        self.assertEqual(0, rc, err)
        self.assertIn('Wrote host file %s' % out_file, err)
        original = json.loads(out)
        with open(out_file) as f:
            document = yaml.safe_load(f)
        # The GPU models travel with the file.
        self.assertTrue(all(g['model'] in document['models']
                            for g in document['gpus']))
        # Ownership is nova-mig's record on the host, not part of the host
        # a capture carries; no layout apply ran here, so none is owned.
        for device in original['vgpu_devices']:
            self.assertIs(False, device.pop('owned'))
        self.assertEqual(original, self.replay(document))


class TestCaptureNvml(CaptureTestCase):
    """GPUs read through NVML (the pynvml double), replayed simulated."""

    def test_profiles_types_and_instances_survive(self):
        fake = self.useFixture(fake_pynvml.FakeNvmlFixture(
            [fake_cards.busy_a100(), fake_cards.rtx_pro_6000(index=1)])).fake
        backend = nvml.NvmlBackend(self.conf)
        self.addCleanup(backend.close)
        report = host_records.HostReport(
            hostname='captured-1', device_mode='mdev',
            gpus=backend.list_gpus(), parents=[], mdevs=[], sriov={},
            domains=[], node_devices=[])
        document = capture.host_file(report)
        # Read-only: the capture created and destroyed nothing.
        self.assertFalse([c for c in fake.calls
                          if 'Create' in c or 'Destroy' in c or 'Set' in c])
        rtx = document['models'][capture.model_key(report.gpus[1])]
        by_name = {t['name'].split()[-1]: t for t in rtx['vgpu_types']}
        self.assertEqual(47, by_name['DC-1-24Q']['gpu_instance_profile'])
        self.assertEqual(4, by_name['DC-4-24Q']['max_instances_per_gi'])
        replayed = self.replay(document)['gpus']
        original = report.as_dict()['gpus']
        # This report has no sysfs side (no vGPU devices), so the replayed
        # host carries none: where NVML had a vGPU running on a GPU
        # instance, the replayed instance has room for one more.
        busy = {(card.uuid, v.gpu_instance_id) for card in report.gpus
                for v in card.active_vgpus}
        self.assertTrue(busy)
        for gpus in (original, replayed):
            for entry in gpus:
                for gi in entry['gpu_instances']:
                    if (entry['uuid'], gi['id']) in busy:
                        gi['creatable_vgpu_types'] = 'not comparable'
        self.assertEqual(original, replayed)
