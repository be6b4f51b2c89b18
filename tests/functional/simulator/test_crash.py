# SPDX-License-Identifier: Apache-2.0

"""The simulated host survives a crash between saving and rendering."""

import os
from unittest import mock

from nova_mig.simulator import backend as simulated
from nova_mig.simulator import simulated_host
from tests.functional.simulator import base


class Killed(BaseException):
    """Stands for the process being killed at a crash point."""


#: The unit host without its domain: its mdev may be removed.
HOST = dict(base.MDEV_HOST, domains=[])


class TestCrashBetweenSaveAndRender(base.SimulatorTestCase):

    def _crash_after_save(self, backend, change) -> None:
        def commit():
            with backend.host.transaction() as state:
                change(state)
        with mock.patch.object(simulated_host.SimulatedHost, '_render_locked',
                               side_effect=Killed) as render:
            # The crash point is reached: the change was saved, and the
            # process "dies" rendering it.
            self.assertRaises(Killed, commit)
        self.assertEqual(1, render.call_count)

    def _mdev_dir(self, backend) -> str:
        return self.sys(backend, 'bus', 'mdev', 'devices', base.UUID1)

    def test_removal_saved_but_not_rendered(self):
        backend = self.backend(HOST)
        self.assertTrue(os.path.lexists(self._mdev_dir(backend)))
        self._crash_after_save(
            backend, lambda state: state.remove_vgpu(base.UUID1))
        # The next run (a new process) renders the saved state again: the
        # removed device is gone from sysfs and libvirt alike.
        again = simulated.SimulatedBackend(self.conf)
        self.assertFalse(os.path.lexists(self._mdev_dir(again)))
        with open(again.host.libvirt_path, encoding='utf-8') as stream:
            self.assertNotIn(base.UUID1, stream.read())

    def test_rendered_stamp_follows_the_state(self):
        backend = self.backend(HOST)
        backend.sysfs_root()
        stamp = backend.host._rendered()
        self.assertIsNotNone(stamp)
        self._crash_after_save(
            backend, lambda state: state.remove_vgpu(base.UUID1))
        self.assertEqual(stamp, backend.host._rendered())
        again = simulated.SimulatedBackend(self.conf)
        again.sysfs_root()
        self.assertNotEqual(stamp, again.host._rendered())

    def test_no_render_when_consistent(self):
        backend = self.backend(HOST)
        backend.sysfs_root()
        again = simulated.SimulatedBackend(self.conf)
        with mock.patch.object(simulated_host.SimulatedHost,
                               '_render_locked') as render:
            again.sysfs_root()
        render.assert_not_called()
