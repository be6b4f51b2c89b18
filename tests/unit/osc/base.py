# SPDX-License-Identifier: Apache-2.0

"""A fake OSC app for the ``openstack mig`` command tests."""

import io
import json
import types

import fixtures

from tests import base
from tests.unit.flavor import base as flavor_base
from tests.unit.flavor import fakes

RC = flavor_base.RC


class CommandTestCase(base.TestCase):
    """A fake OSC app whose session reaches the fake Placement and Nova."""

    def setUp(self):
        super().setUp()
        for name in ('NOVA_MIG_RC_TEMPLATE', 'NOVA_MIG_TRAIT_TEMPLATE',
                     'NOVA_MIG_MODEL_TEMPLATE', 'NOVA_MIG_FLAVOR_TEMPLATE',
                     'NOVA_MIG_VGPU_CLASS'):
            self.useFixture(fixtures.EnvironmentVariable(name))
        self.placement = fakes.FakePlacementAdapter()
        self.compute = fakes.FakeCompute()
        conn = types.SimpleNamespace(placement=self.placement,
                                     compute=self.compute)
        self.app = types.SimpleNamespace(
            client_manager=types.SimpleNamespace(sdk_connection=conn),
            stdout=io.StringIO(), stderr=io.StringIO(), options=None)

    def run_cmd(self, cls, *argv, expect=0):
        """Run the command as OSC would; return its JSON output."""
        cmd = cls(self.app, None)
        parser = cmd.get_parser('openstack mig')
        args = parser.parse_args(list(argv) + ['-f', 'json'])
        self.app.stdout.seek(0)
        self.app.stdout.truncate()
        self.assertEqual(expect, cmd.run(args) or 0)
        return json.loads(self.app.stdout.getvalue())

    def gpu(self, host, rc=RC, total=2, used=0, traits=()):
        cn = self.placement.add(host)
        return self.placement.add(host + '_gpu', parent=cn,
                                  inventory={rc: {'total': total}},
                                  usages={rc: used}, traits=traits)
