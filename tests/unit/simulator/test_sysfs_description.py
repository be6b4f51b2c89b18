# SPDX-License-Identifier: Apache-2.0

"""The simulated ``description`` file of a vGPU type."""

from nova_mig.model import gpu_records
from nova_mig.simulator import sysfs
from tests import base


def _type(name, framebuffer_mb=10240):
    return gpu_records.VgpuType(id=751, name=name, gpu_instance_profile_id=20,
                                framebuffer_mb=framebuffer_mb, max_instances=1)


class TestDescription(base.TestCase):

    def test_compute_types_with_media_extensions_are_c_series(self):
        for name in ('NVIDIA A100D-1-10C', 'NVIDIA A100D-1-10CME'):
            self.assertEqual(
                'num_heads=1, frl_config=60, framebuffer=10240M, '
                'max_resolution=4096x2160, max_instance=1',
                sysfs.description(_type(name), 1), name)

    def test_q_series(self):
        self.assertEqual(
            'num_heads=4, frl_config=60, framebuffer=24576M, '
            'max_resolution=4096x2400, max_instance=2',
            sysfs.description(_type(
                'NVIDIA RTX Pro 6000 Blackwell DC-1-24Q', 24576), 2))

    def test_unparsed_name_uses_its_last_letter(self):
        self.assertIn('num_heads=4',
                      sysfs.description(_type('NVIDIA Oddity-B'), 1))
