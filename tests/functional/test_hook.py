# SPDX-License-Identifier: Apache-2.0

"""Functional tests of ``nova-mig hook pre-start`` and ``post-start``.

The simulated a100-mixed host; Placement is the embedded one (the
default, seeded like nova-compute would), one the test serves without
providers (nova-compute not started yet), or a closed port.
"""

import json
import os
import threading

import testtools

from nova_mig import gpu
from nova_mig.host import discovery
from nova_mig.novaconf import release
from nova_mig.novaconf import type_plan
from nova_mig.placement import host_offer
from nova_mig.simulator import embedded_placement
from tests import base as test_base
from tests.functional import layout_base

HOST = 'compute-a100-1'
#: The targeted Nova (the installed package, else the oldest supported)
#: has persistent mdevs: pre-start checks mdevctl.
PERSISTENT_MDEVS = release.target(None).has(release.PERSISTENT_MDEVS)
VF4 = HOST + '_pci_0000_41_00_4'


class HookTestCase(layout_base.LayoutTestCase):
    """A simulated host whose layout was applied once (a checkpoint)."""

    def setUp(self):
        super().setUp()
        self.snippet = os.path.join(self.tmpdir, 'nova', '50-nova-mig.conf')
        self.provider_config = os.path.join(self.tmpdir, 'nova', 'pc',
                                            'nova-mig.yaml')
        self.base_conf = self.conf_file
        # mdevctl where libvirt runs (checked for Nova 2024.2 and later).
        self.mdevctl = 'true'
        self.flags(hypervisor_hostname=HOST, group='nova')
        self.use_conf('')

    def use_conf(self, extra: str) -> None:
        """The test's nova-mig.conf plus [nova] paths and ``extra``."""
        with open(self.base_conf) as f:
            text = f.read()
        self.conf_file = os.path.join(self.tmpdir, 'hook.conf')
        with open(self.conf_file, 'w') as f:
            f.write(text + '[nova]\nconfig_snippet = %s\n'
                    'provider_config_file = %s\nhypervisor_hostname = %s\n'
                    '[hook]\nmdevctl_command = %s\n%s' % (
                        self.snippet, self.provider_config, HOST,
                        self.mdevctl, extra))

    def checkpoint(self) -> None:
        exported = os.path.join(self.tmpdir, 'exported.yaml')
        self.assertEqual(0, self.cli('layout', 'export', '-o', exported)[0])
        rc, out, err = self.cli('layout', 'apply', exported)
        self.assertEqual(0, rc, out + err)

    def steps(self, out: str) -> dict[str, dict]:
        return {row['Step']: row for row in json.loads(out)}


class TestPreStart(HookTestCase):

    def test_after_reboot_restores_geometry_and_writes_config(self):
        self.checkpoint()
        before = self.snapshot()
        self.backend.wipe()
        self.assertNotEqual(before, self.snapshot())
        self.assertFalse(os.path.exists(self.snippet))

        rc, out, err = self.cli('hook', 'pre-start', '-f', 'json')
        self.assertEqual(0, rc, out + err)
        self.assertEqual(before, self.snapshot())
        steps = self.steps(out)
        self.assertEqual(['restore layout', 'nova config'] + (
            ['mdevctl'] if PERSISTENT_MDEVS else []) + ['placement'],
            list(steps))
        self.assertEqual({'ok'}, {s['Status'] for s in steps.values()})
        self.assertIn('re-created on 0000:41:00.0', steps['restore layout']
                      ['Detail'])
        with open(self.snippet) as f:
            snippet = f.read()
        self.assertIn('enabled_mdev_types', snippet)
        self.assertIn('mdev_class = CUSTOM_MIG_3G_40GB', snippet)
        self.assertTrue(os.path.exists(self.provider_config))
        # The classes and traits now exist in the (embedded) Placement.
        self.assertIn('CUSTOM_MIG_3G_40GB', steps['placement']['Detail'])
        with embedded_placement.EmbeddedPlacement(
                self.conf.host.state_dir) as p:
            client = p.client()
            self.assertIn('CUSTOM_MIG_1G_10GB', client.resource_classes())
            self.assertEqual(
                {'CUSTOM_GPU_NVIDIA_A100_80GB_PCIE'},
                client.existing_traits({'CUSTOM_GPU_NVIDIA_A100_80GB_PCIE',
                                        'CUSTOM_NOT_A_NOVA_MIG_TRAIT'}))

        # A second run (nova-compute restarted) changes nothing.
        state = self.state()
        rc, out, err = self.cli('hook', 'pre-start', '-f', 'json')
        self.assertEqual(0, rc, out + err)
        self.assertEqual(state, self.state())
        self.assertIn('unchanged', self.steps(out)['nova config']['Detail'])
        self.assertIn('created: none', self.steps(out)['placement']['Detail'])

    def test_unfinished_drain_keeps_its_gpu_out_of_nova(self):
        """A restart (or boot) half-way through a per-GPU drain."""
        from nova_mig.workflows import drain_journal
        gpu81 = '0000:81:00.0'
        for phase, withheld in ((drain_journal.APPLY, True),
                                (drain_journal.DRAIN, True),
                                (drain_journal.RESTORE, False)):
            drain_journal.save(self.conf.host.state_dir, drain_journal.Entry(
                phase=phase, gpus=(gpu81,), layout={'version': 1,
                                                    'gpus': []}))
            rc, out, err = self.cli('hook', 'pre-start', '-f', 'json')
            self.assertEqual(0, rc, out + err)
            with open(self.snippet) as f:
                snippet = f.read()
            # GPU 81's vGPU parents are its VFs 0000:81:00.4 and .5.
            self.assertEqual(withheld, '0000:81:00.4' not in snippet, phase)
            self.assertIn('0000:41:00.4', snippet)
            if withheld:
                self.assertIn('An unfinished drain (%s phase) withholds '
                              '%s from Nova' % (phase, gpu81), err)

    def test_without_checkpoint_skips_restore(self):
        before = self.snapshot()
        rc, out, err = self.cli('hook', 'pre-start', '-f', 'json')
        self.assertEqual(0, rc, out + err)
        self.assertEqual('skipped', self.steps(out)['restore layout']
                         ['Status'])
        self.assertEqual(before, self.snapshot())
        self.assertTrue(os.path.exists(self.snippet))

    def test_restore_failure_fails_and_writes_no_config(self):
        self.checkpoint()
        self.backend.wipe()
        with layout_base.refused_mdev_create():
            rc, out, err = self.cli('hook', 'pre-start', '-f', 'json')
        self.assertEqual(1, rc, out + err)
        steps = self.steps(out)
        self.assertEqual(['restore layout'], list(steps))
        self.assertEqual('failed', steps['restore layout']['Status'])
        self.assertIn('No space left on device', err)
        self.assertIn('nova-compute must not start', err)
        self.assertFalse(os.path.exists(self.snippet))
        # Once the cause is gone the hook converges.
        rc, out, err = self.cli('hook', 'pre-start', '-f', 'json')
        self.assertEqual(0, rc, out + err)
        self.assertTrue(os.path.exists(self.snippet))

    def test_placement_unreachable_warns_and_starts(self):
        url = test_base.closed_port_url()
        self.use_conf('[placement]\nauth_type = none\nendpoint_override = '
                      '%s\n[hook]\nplacement_timeout = 2\n' % url)
        rc, out, err = self.cli('hook', 'pre-start', '-f', 'json')
        self.assertEqual(0, rc, out + err)
        steps = self.steps(out)
        self.assertEqual('ok', steps['nova config']['Status'])
        self.assertEqual('warning', steps['placement']['Status'])
        self.assertIn('Placement at %s is unreachable' % url, err)
        self.assertIn('nova-compute starts anyway', err)
        self.assertTrue(os.path.exists(self.snippet))

    @testtools.skipUnless(PERSISTENT_MDEVS, 'Nova older than 2024.2')
    def test_mdevctl_missing_is_reported_and_nova_compute_starts(self):
        # Persistent mdevs: libvirt runs mdevctl, absent from its container.
        self.mdevctl = os.path.join(self.tmpdir, 'no-such-mdevctl')
        self.use_conf('')
        rc, out, err = self.cli('hook', 'pre-start', '-f', 'json')
        self.assertEqual(0, rc, out + err)
        steps = self.steps(out)
        self.assertEqual('warning', steps['mdevctl']['Status'])
        lines = [line for line in err.splitlines()
                 if line.startswith('nova-mig hook pre-start: mdevctl')]
        self.assertEqual(1, len(lines), err)
        self.assertIn('nova-mig hook pre-start: mdevctl: warning: "%s '
                      '--version" failed' % self.mdevctl, lines[0])
        self.assertIn('needs mdevctl where libvirt runs', lines[0])
        self.assertTrue(os.path.exists(self.snippet))

    def test_placement_unreachable_strict_fails_config_written(self):
        url = test_base.closed_port_url()
        self.use_conf('[placement]\nauth_type = none\nendpoint_override = '
                      '%s\n' % url)
        rc, out, err = self.cli('hook', 'pre-start', '--strict', '-f',
                                'json')
        self.assertEqual(1, rc, out + err)
        self.assertEqual('failed', self.steps(out)['placement']['Status'])
        self.assertIn('(strict mode)', err)
        self.assertTrue(os.path.exists(self.snippet))
        self.assertTrue(os.path.exists(self.provider_config))

    def test_strict_from_the_config_file(self):
        url = test_base.closed_port_url()
        self.use_conf('[placement]\nauth_type = none\nendpoint_override = '
                      '%s\n[hook]\nstrict = true\n' % url)
        rc, out, err = self.cli('hook', 'pre-start')
        self.assertEqual(1, rc, out + err)
        self.assertIn('placement: failed', err)


class TestPostStart(HookTestCase):

    def serve_placement(self):
        """A Placement nova-compute has not registered with yet."""
        server = embedded_placement.EmbeddedPlacement(
            os.path.join(self.tmpdir, 'cloud'))
        url = server.start()
        self.addCleanup(server.stop)
        self.use_conf('[placement]\nauth_type = admin_token\nendpoint = %s\n'
                      'token = admin\nendpoint_override = %s\n'
                      '[hook]\nprovider_poll_interval = 0.1\n' % (url, url))
        return server

    def expected(self):
        report = discovery.discover(gpu.load_backend(self.conf))
        return host_offer.providers(type_plan.build(self.conf, report), HOST)

    def test_timeout_when_providers_never_appear(self):
        self.serve_placement()
        rc, out, err = self.cli('hook', 'post-start', '--timeout', '0.5',
                                '-f', 'json')
        self.assertEqual(1, rc, out + err)
        step = self.steps(out)['wait for providers']
        self.assertEqual('failed', step['Status'])
        self.assertIn('Gave up after 0.5s waiting for nova-compute\'s '
                      'resource providers', err)
        self.assertIn('missing %s' % HOST, err)
        self.assertIn('[hook]provider_timeout', err)

    def test_providers_created_late_then_traits_synced(self):
        server = self.serve_placement()
        expected = self.expected()
        timer = threading.Timer(
            0.5, embedded_placement.seed, (server.client(), HOST, expected))
        timer.start()
        self.addCleanup(timer.cancel)
        rc, out, err = self.cli('hook', 'post-start', '--timeout', '30',
                                '-f', 'json')
        self.assertEqual(0, rc, out + err)
        steps = self.steps(out)
        self.assertEqual('ok', steps['wait for providers']['Status'])
        waited = float(steps['wait for providers']['Detail']
                       .split('after ')[1].rstrip('s'))
        self.assertGreaterEqual(waited, 0.4)
        self.assertEqual('ok', steps['sync']['Status'])
        admin = server.client()
        rp = admin.providers(name=VF4)[0]
        traits, _ = admin.provider_traits(rp['uuid'])
        self.assertLessEqual({'CUSTOM_MIG_3G_40GB', 'CUSTOM_VGPU_MODE_MDEV'},
                             traits)

    def test_on_the_embedded_placement(self):
        rc, out, err = self.cli('hook', 'post-start', '-f', 'json')
        self.assertEqual(0, rc, out + err)
        steps = self.steps(out)
        self.assertIn('%d GPU provider(s)' % len(self.expected()),
                      steps['wait for providers']['Detail'])
        self.assertIn('changed', steps['sync']['Detail'])
        with embedded_placement.EmbeddedPlacement(
                self.conf.host.state_dir) as p:
            client = p.client()
            rp = client.providers(name=VF4)[0]
            self.assertIn('CUSTOM_MIG_3G_40GB',
                          client.provider_traits(rp['uuid'])[0])
