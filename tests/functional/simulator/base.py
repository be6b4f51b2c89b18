# SPDX-License-Identifier: Apache-2.0

"""Helpers for tests that materialise a simulated host on disk."""

import os

import yaml

from nova_mig.simulator import backend as simulated
from tests import base
from tests.unit.simulator import fakes

# The shared host descriptions, under the names these tests use.
MDEV_HOST = fakes.MDEV_HOST
UUID1, UUID2 = fakes.UUID1, fakes.UUID2
PF, VF0, VF1, VF2, VF3 = fakes.PF, fakes.VF0, fakes.VF1, fakes.VF2, fakes.VF3
example = fakes.example


class SimulatorTestCase(base.TestCase):
    """A test case with helpers to run a simulated host."""

    def write_host(self, data, name: str = 'host.yaml') -> str:
        path = os.path.join(self.tmpdir, name)
        with open(path, 'w', encoding='utf-8') as stream:
            if isinstance(data, str):
                stream.write(data)
            else:
                yaml.safe_dump(data, stream)
        return path

    def backend(self, data=None, host_file: str | None = None
                ) -> simulated.SimulatedBackend:
        if host_file is None:
            host_file = self.write_host(MDEV_HOST if data is None else data)
        self.flags(host_file=host_file, group='simulator')
        return simulated.SimulatedBackend(self.conf)

    def sys(self, backend, *parts: str) -> str:
        return os.path.join(backend.sysfs_root(), *parts)

    def read(self, backend, *parts: str) -> str:
        with open(self.sys(backend, *parts), encoding='utf-8') as stream:
            return stream.read().strip()

    def type_dir(self, backend, parent: str, name: str) -> str:
        """The mdev type directory whose ``name`` ends with ``name``."""
        types = self.sys(backend, 'class', 'mdev_bus', parent,
                         'mdev_supported_types')
        for entry in sorted(os.listdir(types)):
            with open(os.path.join(types, entry, 'name')) as stream:
                if stream.read().split()[-1] == name:
                    return os.path.join(types, entry)
        self.fail('no type %s on %s' % (name, parent))
