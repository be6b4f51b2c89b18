# SPDX-License-Identifier: Apache-2.0

"""Tests of MIG changes through the NVML privsep entrypoints."""

from oslo_privsep.test import fixture as privsep_fixture
import pynvml

from nova_mig import exception
from nova_mig.gpu import nvml
from nova_mig.model import gpu_records
from nova_mig import privsep
from tests import base as test_base
from tests.unit.privsep import fake_cards
from tests.unit.privsep import fake_pynvml
from tests.unit.privsep import privsep_fixtures


class ChangesTestCase(test_base.TestCase):
    #: How entrypoints run: directly, or through a privsep-like channel.
    privsep_fixture = privsep_fixtures.DirectPrivsepFixture

    def setUp(self):
        super().setUp()
        self.useFixture(self.privsep_fixture(privsep.nvml_pctxt))
        self.empty = fake_cards.a100_80gb(index=0)
        self.busy = fake_cards.busy_a100()
        self.busy.uuid = 'GPU-b0000000-0000-4000-8000-000000000000'
        self.off = fake_cards.a100_80gb(index=2, mig=0)
        self.fake = self.useFixture(fake_pynvml.FakeNvmlFixture(
            [self.empty, self.busy, self.off, fake_cards.t4(index=3)])).fake
        self.backend = nvml.NvmlBackend(self.conf)
        self.addCleanup(self.backend.close)

    def assertRefused(self, code, func, *args):
        before = self.fake.snapshot()
        error = self.assertRaises(exception.GpuOperationRefused, func, *args)
        self.assertEqual(code, error.code)
        self.assertIn(args[0], str(error))
        self.assertEqual(before, self.fake.snapshot())
        return error


class TestChanges(ChangesTestCase):

    def test_create_gpu_instance_at_placement(self):
        gi = self.backend.create_gpu_instance(self.empty.uuid, 9,
                                              gpu_records.Placement(4, 4))
        self.assertEqual((9, '3g.40gb', gpu_records.Placement(4, 4), ()),
                         (gi.profile_id, gi.profile_name, gi.placement,
                          gi.compute_instances))
        self.assertEqual((9, 4, 4), (self.empty.gis[gi.id].profile.id,
                                     self.empty.gis[gi.id].start,
                                     self.empty.gis[gi.id].size))

    def test_create_gpu_instance_anywhere(self):
        first = self.backend.create_gpu_instance(self.empty.uuid, 15)
        second = self.backend.create_gpu_instance(self.empty.uuid, 15)
        self.assertNotEqual(first.id, second.id)
        self.assertFalse(first.placement.overlaps(second.placement))

    def test_create_and_destroy_compute_instance(self):
        gi = self.backend.create_gpu_instance(self.empty.uuid, 14,
                                              gpu_records.Placement(2, 2))
        ci = self.backend.create_compute_instance(self.empty.uuid, gi.id)
        # The full-size shared-engine profile: 2 compute slices.
        self.assertEqual(1, ci.profile_id)
        self.assertEqual(2, self.empty.gis[gi.id].cis[ci.id].slice_count)
        (listed,) = [g for g in self.backend.list_gpus()[0].gpu_instances
                     if g.id == gi.id]
        self.assertEqual((ci,), listed.compute_instances)
        self.backend.destroy_compute_instance(self.empty.uuid, gi.id, ci.id)
        self.backend.destroy_gpu_instance(self.empty.uuid, gi.id)
        self.assertEqual({}, self.empty.gis)

    def test_nvml_sessions_are_balanced(self):
        self.backend.list_gpus()
        gi = self.backend.create_gpu_instance(self.empty.uuid, 0)
        self.backend.destroy_gpu_instance(self.empty.uuid, gi.id)
        # Only the backend's own read session stays open.
        self.assertEqual(1, self.fake.init_count)

    def test_overlapping_placement(self):
        self.assertRefused('INSUFFICIENT_RESOURCES',
                           self.backend.create_gpu_instance, self.busy.uuid,
                           15, gpu_records.Placement(6, 2))

    def test_no_room_left(self):
        self.assertRefused('INSUFFICIENT_RESOURCES',
                           self.backend.create_gpu_instance, self.busy.uuid,
                           19)

    def test_second_media_extensions_instance(self):
        self.backend.create_gpu_instance(self.empty.uuid, 20,
                                         gpu_records.Placement(0, 1))
        self.assertRefused('INSUFFICIENT_RESOURCES',
                           self.backend.create_gpu_instance, self.empty.uuid,
                           20, gpu_records.Placement(3, 1))

    def test_placement_not_allowed(self):
        self.assertRefused('INVALID_ARGUMENT',
                           self.backend.create_gpu_instance, self.empty.uuid,
                           15, gpu_records.Placement(1, 2))

    def test_unknown_profile(self):
        self.assertRefused('INVALID_ARGUMENT',
                           self.backend.create_gpu_instance, self.empty.uuid,
                           42)

    def test_mig_off(self):
        self.assertRefused('NOT_SUPPORTED', self.backend.create_gpu_instance,
                           self.off.uuid, 19)

    def test_no_permission(self):
        self.fake.privileged = False
        self.assertRefused('NO_PERMISSION', self.backend.create_gpu_instance,
                           self.empty.uuid, 19)
        self.assertRefused('NO_PERMISSION', self.backend.destroy_gpu_instance,
                           self.busy.uuid, 3)

    def test_destroy_gpu_instance_with_compute_instance(self):
        self.assertRefused('IN_USE', self.backend.destroy_gpu_instance,
                           self.busy.uuid, 2)

    def test_destroy_compute_instance_with_process(self):
        self.assertRefused('IN_USE', self.backend.destroy_compute_instance,
                           self.busy.uuid, 1, 0)

    def test_compute_instance_on_full_gpu_instance(self):
        self.assertRefused('INSUFFICIENT_RESOURCES',
                           self.backend.create_compute_instance,
                           self.busy.uuid, 2)

    def test_unknown_gpu_instance(self):
        self.assertRefused('NOT_FOUND', self.backend.destroy_gpu_instance,
                           self.busy.uuid, 42)
        self.assertRefused('NOT_FOUND', self.backend.destroy_compute_instance,
                           self.busy.uuid, 3, 0)

    def test_unknown_gpu(self):
        self.assertRefused('NOT_FOUND', self.backend.create_gpu_instance,
                           'GPU-00000000-0000-0000-0000-000000000000', 19)

    def test_other_errors_are_nvml_errors(self):
        self.fake.fail('nvmlDeviceCreateGpuInstance',
                       pynvml.NVML_ERROR_GPU_IS_LOST)
        error = self.assertRaises(exception.NvmlError,
                                  self.backend.create_gpu_instance,
                                  self.empty.uuid, 19)
        self.assertNotIsInstance(error, exception.GpuOperationRefused)
        self.assertIn('nvmlDeviceCreateGpuInstance', str(error))
        self.assertIn(self.empty.uuid, str(error))
        self.assertEqual({}, self.empty.gis)

    def test_library_missing_in_daemon(self):
        self.fake.fail('nvmlInitWithFlags',
                       pynvml.NVML_ERROR_DRIVER_NOT_LOADED)
        self.assertRaises(exception.NvmlUnavailable,
                          self.backend.destroy_gpu_instance,
                          self.busy.uuid, 3)


class TestChangesOverTheWire(TestChanges):
    """The same, with privsep's serialisation of calls and errors."""

    privsep_fixture = privsep_fixtures.WirePrivsepFixture


class TestChangesDaemon(test_base.TestCase):
    """A real (forked, unprivileged) privsep daemon runs the entrypoint."""

    def test_refusal_crosses_the_daemon(self):
        busy = fake_cards.busy_a100()
        # The daemon forks after the fake is installed and inherits it.
        self.useFixture(fake_pynvml.FakeNvmlFixture([busy]))
        self.useFixture(privsep_fixture.UnprivilegedPrivsepFixture(
            privsep.nvml_pctxt, {}))
        backend = nvml.NvmlBackend(self.conf)
        error = self.assertRaises(exception.GpuOperationRefused,
                                  backend.destroy_gpu_instance, busy.uuid, 2)
        self.assertEqual('IN_USE', error.code)
        # The daemon changes its own copy of the fake card.
        backend.destroy_gpu_instance(busy.uuid, 3)
        gi = backend.create_gpu_instance(
            busy.uuid, 15, gpu_records.Placement(6, 2))
        self.assertEqual(('1g.20gb', gpu_records.Placement(6, 2)),
                         (gi.profile_name, gi.placement))
