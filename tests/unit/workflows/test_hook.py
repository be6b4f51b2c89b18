# SPDX-License-Identifier: Apache-2.0

"""Unit tests of the nova-compute hooks: steps, strictness, waiting."""

import os
from unittest import mock

import fixtures

from nova_mig import exception
from nova_mig import fileutils
from nova_mig.host import discovery
from nova_mig.layout import layout_apply
from nova_mig.layout import records
from nova_mig.novaconf import type_plan
from nova_mig.placement import connect
from nova_mig.workflows import start_hooks
from tests import base
from tests.unit.novaconf import fakes as novaconf_fakes
from tests.unit.placement import fakes
from tests.unit.workflows import fakes as workflows_fakes

HOST = 'cn1'
VF4 = 'cn1_pci_0000_41_00_4'
VF5 = 'cn1_pci_0000_41_00_5'


class TestHookResult(base.TestCase):

    def test_failed_step_fails_the_hook(self):
        result = start_hooks.HookResult('pre-start')
        result.add('restore layout', start_hooks.SKIPPED)
        result.add('placement', start_hooks.WARNING, 'down')
        self.assertTrue(result.ok)
        self.assertEqual(0, result.exit_code)
        result.add('nova config', start_hooks.FAILED, 'no')
        self.assertEqual(1, result.exit_code)
        self.assertEqual(('nova config', 'failed', 'no'), result.rows()[-1])


class TestPlacementTimeout(base.TestCase):

    def test_hook_timeout_only_while_placement_timeout_unset(self):
        self.flags(placement_timeout=3.5, group='hook')
        with start_hooks.placement_timeout(self.conf):
            self.assertEqual(3.5, self.conf.placement.timeout)
        self.assertIsNone(self.conf.placement.timeout)

    def test_explicit_placement_timeout_wins(self):
        self.flags(timeout=42, group='placement')
        with start_hooks.placement_timeout(self.conf):
            self.assertEqual(42, self.conf.placement.timeout)


class TestPreStart(base.TestCase):

    def setUp(self):
        super().setUp()
        self.backend = mock.Mock()
        self.backend.sysfs_root.return_value = self.tmpdir
        self.snippet = os.path.join(self.tmpdir, 'nova.conf.d', 'mig.conf')
        self.flags(config_snippet=self.snippet,
                   provider_config_file=os.path.join(self.tmpdir, 'p.yaml'),
                   release='2024.2', group='nova')
        self.useFixture(fixtures.MockPatch(
            'nova_mig.novaconf.release.installed_version',
            return_value=None))
        # mdevctl where libvirt runs: a command that succeeds.
        self.flags(mdevctl_command=['true'], group='hook')
        p = mock.patch.object
        self.restore = self.patch(p(layout_apply, 'restore'))
        self.report, _ = novaconf_fakes.mixed_report()
        self.patch(p(discovery, 'discover', return_value=self.report))
        self.placement = self.patch(p(
            connect, 'placement', side_effect=exception.PlacementUnreachable(
                url='http://p', reason='refused')))

    def patch(self, patcher):
        mocked = patcher.start()
        self.addCleanup(patcher.stop)
        return mocked

    def result(self, *statuses):
        gpus = tuple(records.GpuResult(
            '0000:%02x:00.0' % i, records.Status(status),
            error='boom' if status == 'failed' else None)
            for i, status in enumerate(statuses))
        return records.ApplyResult(mock.Mock(), gpus)

    def steps(self, result):
        return [(s.name, s.status) for s in result.steps]

    def test_failed_gpu_stops_before_the_config(self):
        self.restore.return_value = self.result('changed', 'failed')
        result = start_hooks.pre_start(self.conf, self.backend)
        self.assertEqual(1, result.exit_code)
        self.assertEqual(['restore layout'], [s.name for s in result.steps])
        self.assertIn('0000:01:00.0 failed: boom', result.steps[0].detail)
        self.assertFalse(os.path.exists(self.snippet))
        self.placement.assert_not_called()

    def test_refused_gpu_is_a_failure_too(self):
        self.restore.return_value = self.result('refused')
        self.assertEqual(1, start_hooks.pre_start(self.conf,
                                                  self.backend).exit_code)

    def test_unreadable_checkpoint_is_a_failure(self):
        self.restore.side_effect = exception.CheckpointError(
            path='/x', reason='bad')
        result = start_hooks.pre_start(self.conf, self.backend)
        self.assertEqual(1, result.exit_code)
        self.assertIn('must not start', result.steps[0].detail)
        self.assertFalse(os.path.exists(self.snippet))

    def test_restore_off_is_skipped(self):
        self.flags(restore_layout=False, group='hook')
        result = start_hooks.pre_start(self.conf, self.backend)
        self.restore.assert_not_called()
        self.assertEqual(0, result.exit_code)
        self.assertEqual([('restore layout', start_hooks.SKIPPED),
                          ('nova config', start_hooks.OK),
                          ('mdevctl', start_hooks.OK),
                          ('placement', start_hooks.WARNING)],
                         self.steps(result))
        self.assertIn('enabled_mdev_types', fileutils.read_text(self.snippet))

    def test_strict_defaults_to_the_option(self):
        self.restore.return_value = None
        self.flags(strict=True, group='hook')
        result = start_hooks.pre_start(self.conf, self.backend)
        self.assertEqual(('placement', start_hooks.FAILED),
                         self.steps(result)[-1])
        self.assertIn('(strict mode)', result.steps[-1].detail)
        result = start_hooks.pre_start(self.conf, self.backend, strict=False)
        self.assertEqual(('placement', start_hooks.WARNING),
                         self.steps(result)[-1])
        self.assertEqual(0, result.exit_code)

    def test_failed_config_skips_placement(self):
        self.restore.return_value = None
        with open(os.path.join(self.tmpdir, 'nova.conf.d'), 'w'):
            pass    # a file where the snippet's directory should be
        result = start_hooks.pre_start(self.conf, self.backend)
        self.assertEqual([('restore layout', start_hooks.SKIPPED),
                          ('nova config', start_hooks.FAILED)],
                         self.steps(result))
        self.placement.assert_not_called()

    def test_config_off_still_creates_classes_and_traits(self):
        self.restore.return_value = None
        self.flags(write_nova_config=False, group='hook')
        result = start_hooks.pre_start(self.conf, self.backend)
        self.assertEqual(('nova config', start_hooks.SKIPPED),
                         self.steps(result)[1])
        self.assertFalse(os.path.exists(self.snippet))
        self.assertEqual('cn1', self.placement.call_args.args[1].hostname)


class TestEnsureClassesAndTraits(base.TestCase):

    def setUp(self):
        super().setUp()
        patcher = mock.patch.object(
            connect, 'placement',
            side_effect=exception.PlacementUnreachable(url='http://p',
                                                       reason='refused'))
        patcher.start()
        self.addCleanup(patcher.stop)
        report, _ = novaconf_fakes.mixed_report()
        self.config = type_plan.build(self.conf, report)

    def test_outage_is_a_warning(self):
        result = start_hooks.HookResult('pre-start')
        self.assertTrue(start_hooks.ensure_classes_and_traits(
            self.conf, self.config, result, strict=False))
        self.assertEqual(start_hooks.WARNING, result.steps[0].status)
        self.assertIn('http://p is unreachable', result.steps[0].detail)

    def test_outage_fails_in_strict_mode(self):
        result = start_hooks.HookResult('pre-start')
        self.assertFalse(start_hooks.ensure_classes_and_traits(
            self.conf, self.config, result, strict=True))
        self.assertEqual(start_hooks.FAILED, result.steps[0].status)
        # The timeout override does not outlive the hook.
        self.assertIsNone(self.conf.placement.timeout)


class TestCheckMdevctl(base.TestCase):
    """Persistent mdevs (Nova 2024.2+) need mdevctl where libvirt runs."""

    def setUp(self):
        super().setUp()
        self.useFixture(fixtures.MockPatch(
            'nova_mig.novaconf.release.installed_version',
            return_value=None))
        self.flags(release='2024.2', group='nova')
        report, _ = novaconf_fakes.mixed_report()
        self.config = type_plan.build(self.conf, report)
        self.result = start_hooks.HookResult('pre-start')

    def fake_mdevctl(self, rc, output=''):
        path = os.path.join(self.tmpdir, 'mdevctl')
        with open(path, 'w') as f:
            f.write('#!/bin/sh\necho "$@" > %s.args\necho "%s" >&2\n'
                    'exit %d\n' % (path, output, rc))
        os.chmod(path, 0o755)
        self.flags(mdevctl_command=['sh', path], group='hook')
        return path

    def test_present_is_ok(self):
        path = self.fake_mdevctl(0)
        start_hooks.check_mdevctl(self.conf, self.config, self.result)
        self.assertEqual([('mdevctl', start_hooks.OK,
                           'sh %s --version' % path)],
                         self.result.rows())
        with open(path + '.args') as f:
            self.assertEqual('--version\n', f.read())

    def test_missing_is_a_one_line_warning(self):
        self.flags(mdevctl_command=[os.path.join(self.tmpdir, 'nope')],
                   group='hook')
        start_hooks.check_mdevctl(self.conf, self.config, self.result)
        step = self.result.steps[0]
        self.assertEqual(start_hooks.WARNING, step.status)
        self.assertNotIn('\n', step.detail)
        self.assertIn('Nova 2024.2 defines persistent mdevs through libvirt, '
                      'which needs mdevctl where libvirt runs', step.detail)
        # A warning: nova-compute starts anyway.
        self.assertEqual(0, self.result.exit_code)

    def test_failing_command_names_its_last_line(self):
        # docker exec into a container without mdevctl.
        self.fake_mdevctl(127, 'exec: mdevctl: not found')
        start_hooks.check_mdevctl(self.conf, self.config, self.result)
        self.assertIn('(exit code 127: exec: mdevctl: not found)',
                      self.result.steps[0].detail)

    def test_not_checked_before_2024_2_or_in_vendor_vfio_mode(self):
        self.fake_mdevctl(1)
        self.flags(release='2024.1', group='nova')
        start_hooks.check_mdevctl(self.conf, self.config, self.result)
        self.flags(release='2025.1', group='nova')
        report, _ = novaconf_fakes.rtx_report(
            8, [novaconf_fakes.rtx_gi(1, '1g.24gb+gfx', 0)])
        start_hooks.check_mdevctl(self.conf, type_plan.build(self.conf,
                                                             report),
                                  self.result)
        self.flags(mdevctl_command=[], group='hook')
        start_hooks.check_mdevctl(self.conf, self.config, self.result)
        self.assertEqual([], self.result.steps)


class TestWaitForProviders(base.TestCase):

    def setUp(self):
        super().setUp()
        self.fake = fakes.FakePlacement()
        self.clock = workflows_fakes.Clock()

    def wait(self, timeout=10.0, interval=2.0):
        return start_hooks.wait_for_providers(
            self.fake, HOST, [VF4, VF5], timeout, interval,
            sleep=self.clock.sleep, clock=self.clock)

    def test_already_there(self):
        root = self.fake.add(HOST)
        self.fake.add(VF4, parent=root)
        self.fake.add(VF5, parent=root)
        self.assertEqual(0, self.wait())
        self.assertEqual([], self.clock.sleeps)

    def test_waits_until_nova_compute_created_them(self):
        polls = []
        real = self.fake.providers

        def providers(**kw):
            # nova-compute registers the root, then its GPU children.
            if kw.get('name') == HOST:
                polls.append(self.clock.now)
                if len(polls) == 2:
                    self.root = self.fake.add(HOST)
                    self.fake.add(VF4, parent=self.root)
                elif len(polls) == 3:
                    self.fake.add(VF5, parent=self.root)
            return real(**kw)

        self.fake.providers = providers
        self.assertEqual(4.0, self.wait())
        self.assertEqual([2.0, 2.0], self.clock.sleeps)

    def test_timeout_names_what_is_missing(self):
        root = self.fake.add(HOST)
        self.fake.add(VF4, parent=root)
        e = self.assertRaises(exception.HookProvidersTimeout, self.wait,
                              timeout=5.0)
        self.assertIn('after 5s', str(e))
        self.assertIn('missing %s' % VF5, str(e))
        self.assertNotIn(VF4, str(e))
        # The last sleep is cut to the time left.
        self.assertEqual([2.0, 2.0, 1.0], self.clock.sleeps)

    def test_unreachable_placement_counts_as_not_ready(self):
        calls = []

        def providers(**kw):
            calls.append(kw)
            if len(calls) == 1:
                raise exception.PlacementUnreachable(url='http://p',
                                                     reason='refused')
            return [{'name': HOST, 'uuid': 'r', 'root_provider_uuid': 'r'},
                    {'name': VF4, 'uuid': 'a', 'root_provider_uuid': 'r'},
                    {'name': VF5, 'uuid': 'b', 'root_provider_uuid': 'r'}]

        self.fake.providers = providers
        self.assertEqual(2.0, self.wait())

    def test_auth_error_is_not_waited_on(self):
        self.fake.providers = mock.Mock(
            side_effect=exception.PlacementAuthError(url='u', reason='401'))
        self.assertRaises(exception.PlacementAuthError, self.wait)
        self.assertEqual([], self.clock.sleeps)
