"""Unit tests of the nova-compute hooks: steps, strictness, waiting."""

from unittest import mock

from nova_mig import exception
from nova_mig.layout import apply as layout_apply
from nova_mig.workflows import hook
from tests import base
from tests.unit.placement import fakes

HOST = 'cn1'
VF4 = 'cn1_pci_0000_41_00_4'
VF5 = 'cn1_pci_0000_41_00_5'


class Clock:
    """A fake monotonic clock that ``sleep`` advances."""

    def __init__(self):
        self.now = 100.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


class TestHookResult(base.TestCase):

    def test_failed_step_fails_the_hook(self):
        result = hook.HookResult('pre-start')
        result.add('restore layout', hook.SKIPPED)
        result.add('placement', hook.WARNING, 'down')
        self.assertTrue(result.ok)
        self.assertEqual(0, result.exit_code)
        result.add('nova config', hook.FAILED, 'no')
        self.assertEqual(1, result.exit_code)
        self.assertEqual(('nova config', 'failed', 'no'), result.rows()[-1])


class TestPlacementTimeout(base.TestCase):

    def test_hook_timeout_only_while_placement_timeout_unset(self):
        self.flags(placement_timeout=3.5, group='hook')
        with hook.placement_timeout(self.conf):
            self.assertEqual(3.5, self.conf.placement.timeout)
        self.assertIsNone(self.conf.placement.timeout)

    def test_explicit_placement_timeout_wins(self):
        self.flags(timeout=42, group='placement')
        with hook.placement_timeout(self.conf):
            self.assertEqual(42, self.conf.placement.timeout)


class TestPreStart(base.TestCase):

    def setUp(self):
        super().setUp()
        self.backend = mock.Mock()
        p = mock.patch.object
        self.restore = self.patch(p(layout_apply, 'restore'))
        self.discover = self.patch(
            p(hook.discovery, 'discover'))
        self.config = self.patch(p(hook, 'write_nova_config',
                                   return_value=True))
        self.placement = self.patch(
            p(hook, 'ensure_classes_and_traits', return_value=True))

    def patch(self, patcher):
        mocked = patcher.start()
        self.addCleanup(patcher.stop)
        return mocked

    def result(self, *statuses):
        gpus = [layout_apply.GpuResult('0000:%02x:00.0' % i, status,
                                       error='boom' if status == 'failed'
                                       else None)
                for i, status in enumerate(statuses)]
        return layout_apply.ApplyResult(mock.Mock(), gpus)

    def test_failed_gpu_stops_before_the_config(self):
        self.restore.return_value = self.result('changed', 'failed')
        result = hook.pre_start(self.conf, self.backend)
        self.assertEqual(1, result.exit_code)
        self.assertEqual(['restore layout'], [s.name for s in result.steps])
        self.assertIn('0000:01:00.0 failed: boom', result.steps[0].detail)
        self.config.assert_not_called()
        self.placement.assert_not_called()

    def test_refused_gpu_is_a_failure_too(self):
        self.restore.return_value = self.result('refused')
        self.assertEqual(1, hook.pre_start(self.conf,
                                           self.backend).exit_code)

    def test_unreadable_checkpoint_is_a_failure(self):
        self.restore.side_effect = exception.CheckpointError(
            path='/x', reason='bad')
        result = hook.pre_start(self.conf, self.backend)
        self.assertEqual(1, result.exit_code)
        self.assertIn('must not start', result.steps[0].detail)
        self.config.assert_not_called()

    def test_restore_off_is_skipped(self):
        self.flags(restore_layout=False, group='hook')
        result = hook.pre_start(self.conf, self.backend)
        self.restore.assert_not_called()
        self.assertEqual(0, result.exit_code)
        self.assertEqual(hook.SKIPPED, result.steps[0].status)
        self.config.assert_called_once()

    def test_strict_defaults_to_the_option(self):
        self.restore.return_value = None
        self.flags(strict=True, group='hook')
        hook.pre_start(self.conf, self.backend)
        self.assertIs(True, self.placement.call_args[0][3])
        hook.pre_start(self.conf, self.backend, strict=False)
        self.assertIs(False, self.placement.call_args[0][3])

    def test_failed_config_skips_placement(self):
        self.restore.return_value = None
        self.config.return_value = False
        hook.pre_start(self.conf, self.backend)
        self.placement.assert_not_called()


class TestEnsureClassesAndTraits(base.TestCase):

    def setUp(self):
        super().setUp()
        patcher = mock.patch.object(
            hook.connect, 'placement',
            side_effect=exception.PlacementUnreachable(url='http://p',
                                                       reason='refused'))
        patcher.start()
        self.addCleanup(patcher.stop)
        patcher = mock.patch.object(hook.offer, 'expected_providers',
                                    return_value={})
        patcher.start()
        self.addCleanup(patcher.stop)

    def test_outage_is_a_warning(self):
        result = hook.HookResult('pre-start')
        self.assertTrue(hook.ensure_classes_and_traits(
            self.conf, mock.Mock(), result, strict=False))
        self.assertEqual(hook.WARNING, result.steps[0].status)
        self.assertIn('http://p is unreachable', result.steps[0].detail)

    def test_outage_fails_in_strict_mode(self):
        result = hook.HookResult('pre-start')
        self.assertFalse(hook.ensure_classes_and_traits(
            self.conf, mock.Mock(), result, strict=True))
        self.assertEqual(hook.FAILED, result.steps[0].status)
        # The timeout override does not outlive the hook.
        self.assertIsNone(self.conf.placement.timeout)


class TestWaitForProviders(base.TestCase):

    def setUp(self):
        super().setUp()
        self.fake = fakes.FakePlacement()
        self.clock = Clock()

    def wait(self, timeout=10.0, interval=2.0):
        return hook.wait_for_providers(
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
