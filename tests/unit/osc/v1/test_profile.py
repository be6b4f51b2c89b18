# SPDX-License-Identifier: Apache-2.0

"""Tests of ``openstack mig profile list`` over a fake cloud."""

from osc_lib import exceptions as osc_exc

from nova_mig.osc.v1 import profile
from tests.unit.osc import base as osc_base

RC = osc_base.RC


class ProfileCommandTestCase(osc_base.CommandTestCase):

    def test_list_sums_per_profile(self):
        self.gpu('cn1', total=3, used=1)
        self.gpu('cn2', total=2, used=2, traits={'CUSTOM_GPU_A100'})
        rows = self.run_cmd(profile.ListProfile)
        self.assertEqual([{'Profile': '1g.10gb', 'Resource Class': RC,
                           'Hosts': 2, 'Providers': 2, 'Total': 5, 'Used': 3,
                           'Free': 2}], rows)
        rows = self.run_cmd(profile.ListProfile, '--long')
        self.assertEqual([('cn1', 3, 1, 2, []),
                          ('cn2', 2, 2, 0, ['CUSTOM_GPU_A100'])],
                         [(r['Host'], r['Total'], r['Used'], r['Free'],
                           r['GPU Model']) for r in rows])

    def test_rc_template_option(self):
        self.gpu('cn1', rc='CUSTOM_SLICE_2G_20GB')
        self.assertEqual([], self.run_cmd(profile.ListProfile))
        rows = self.run_cmd(profile.ListProfile, '--rc-template',
                            'SLICE_{profile}')
        self.assertEqual(['2g.20gb'], [r['Profile'] for r in rows])

    def test_forbidden_says_admin_rights_are_needed(self):
        self.placement.status = 403
        cmd = profile.ListProfile(self.app, None)
        args = cmd.get_parser('x').parse_args([])
        e = self.assertRaises(osc_exc.CommandError, cmd.take_action, args)
        self.assertIn('Placement refused GET /resource_providers (HTTP '
                      '403): admin rights are needed', str(e))
