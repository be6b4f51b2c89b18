# SPDX-License-Identifier: Apache-2.0

"""Tests of ``openstack mig trait list|sync`` over a fake cloud."""

from osc_lib import exceptions as osc_exc

from nova_mig.osc.v1 import trait
from tests.unit.osc import base as osc_base

RC = osc_base.RC


class TraitCommandTestCase(osc_base.CommandTestCase):

    def test_sync_then_list(self):
        self.gpu('cn1')
        rows = self.run_cmd(trait.SyncTrait, '--profile', '2g.20gb')
        self.assertEqual([(RC, 'created'), ('CUSTOM_MIG_2G_20GB',
                                            'created')],
                         [(r['Name'], r['Status']) for r in rows])
        rows = self.run_cmd(trait.ListTrait)
        self.assertEqual([RC, 'CUSTOM_MIG_2G_20GB'],
                         [r['Name'] for r in rows])

    def test_sync_rejects_malformed_profile(self):
        cmd = trait.SyncTrait(self.app, None)
        args = cmd.get_parser('x').parse_args(['--profile', 'huge'])
        e = self.assertRaises(osc_exc.CommandError, cmd.take_action, args)
        self.assertIn("'huge' is not a MIG profile name", str(e))
