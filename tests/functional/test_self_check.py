# SPDX-License-Identifier: Apache-2.0

"""``nova-mig self-check`` on a simulated host, clean and with injected
disagreements between NVML, sysfs, libvirt and the catalog."""

import collections
import copy
import json
import os
from unittest import mock

import yaml

from nova_mig.cli import selfcheck
from tests.functional import layout_base

PF = '0000:41:00.0'
OTHER_PF = '0000:81:00.0'


class SelfCheckTestCase(layout_base.LayoutTestCase):

    def run_check(self, *args):
        rc, out, err = self.cli('self-check', '-f', 'json', *args)
        rows = collections.defaultdict(list)
        for r in json.loads(out):
            rows[(r['Check'], r['Subject'], r['Status'])].append(r['Detail'])
        return rc, rows, err

    def sysfs(self, *parts):
        return os.path.join(self.backend.sysfs_root(), 'bus', 'pci',
                            'devices', *parts)

    def test_clean_host_agrees_and_nothing_changes(self):
        before = self.state()
        rc, rows, err = self.run_check('--all')
        self.assertEqual(0, rc, err)
        self.assertIn('self-check: 0 disagreement(s)', err)
        self.assertEqual(['0x10de:0x20b5 (NVIDIA A100 80GB PCIe)'],
                         rows[('pci id', PF, 'ok')])
        self.assertEqual(['matches A100-PCIE-80GB'],
                         rows[('catalog', PF, 'ok')])
        self.assertEqual(['20 of 20 VF(s) enabled'],
                         rows[('sr-iov', PF, 'ok')])
        self.assertEqual({'ok'}, {k[2] for k in rows})
        self.assertEqual(before, self.state())

    def test_capture_heads_the_host_file_with_the_findings(self):
        os.unlink(self.sysfs(OTHER_PF, 'driver'))
        capture = os.path.join(self.tmpdir, 'capture.yaml')
        rc, _rows, err = self.run_check('--capture', capture)
        self.assertEqual(1, rc)
        self.assertIn('Wrote capture %s' % capture, err)
        with open(capture) as f:
            text = f.read()
        self.assertTrue(text.startswith(
            '# nova-mig self-check: '), text[:200])
        self.assertIn('# driver | %s | differs | NVML manages it, sysfs '
                      'binds it to no driver, not nvidia' % OTHER_PF, text)
        document = yaml.safe_load(text)
        # The capture replays: the same GPUs, from its own models.
        self.assertEqual([PF, OTHER_PF], sorted(
            g['pci_address'] for g in document['gpus']))
        self.use_host(capture, os.path.join(self.tmpdir, 'replay'))
        rc, rows, err = self.run_check()
        self.assertEqual(0, rc, err)

    def test_injected_disagreements_are_each_named(self):
        # sysfs against NVML: another device ID, no driver, a VF count
        # that its virtfn links do not match.
        with open(self.sysfs(PF, 'device'), 'w') as f:
            f.write('0x2bb5\n')
        os.unlink(self.sysfs(OTHER_PF, 'driver'))
        with open(self.sysfs(OTHER_PF, 'sriov_numvfs'), 'w') as f:
            f.write('7\n')
        # The catalog against NVML: the card's table differs.
        cards = selfcheck.reference_cards()
        changed = copy.deepcopy(cards)
        for card in changed:
            if card['key'] == 'A100-PCIE-80GB':
                card['profiles'][0]['instances'] = 6
                card['vgpu_types'] = [
                    dict(t, profile='2g.20gb') if t['name'] == 'A100D-1-10C'
                    else t for t in card['vgpu_types']]
        with mock.patch.object(selfcheck, 'reference_cards',
                               return_value=changed):
            rc, rows, err = self.run_check()
        self.assertEqual(1, rc)
        self.assertEqual(
            ['sysfs says 0x10de:0x2bb5, NVML says 0x10de:0x20b5 (pciDeviceId '
             '0x20B510DE)'], rows[('pci id', PF, 'differs')])
        self.assertEqual(['NVML manages it, sysfs binds it to no driver, '
                          'not nvidia'], rows[('driver', OTHER_PF, 'differs')])
        self.assertEqual(['sriov_numvfs says 7, 20 virtfn link(s) exist'],
                         rows[('sr-iov', OTHER_PF, 'differs')])
        self.assertEqual(['profile 1g.10gb: NVML says ID 19, 7 instance(s); '
                          'catalog A100-PCIE-80GB says ID 19, 6',
                          'vGPU type A100D-1-10C runs on 1g.10gb (NVML), '
                          'catalog A100-PCIE-80GB says 2g.20gb'],
                         rows[('catalog', PF, 'differs')])
        # The other GPU's catalog comparison differs too (same card).
        self.assertEqual(2, len(rows[('catalog', OTHER_PF, 'differs')]))
        self.assertIn('self-check: 7 disagreement(s)', err)
        self.assertIn('  driver %s: NVML manages it' % OTHER_PF, err)

    def test_unknown_card(self):
        with mock.patch.object(selfcheck, 'reference_cards',
                               return_value=[]):
            rc, rows, err = self.run_check()
        self.assertEqual(1, rc)
        self.assertEqual(['PCI device 0x20b5 (NVIDIA A100 80GB PCIe) is not '
                          'in nova-mig\'s catalog: new hardware, please send '
                          'the capture'], rows[('catalog', PF, 'unknown')])
