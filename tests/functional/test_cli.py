# SPDX-License-Identifier: Apache-2.0

"""The table forms of the nova-mig commands fit the terminal."""

import glob
import os

from tests.functional import base


class TestDiscoverWidth(base.CliTestCase):

    def test_every_example_host_fits_80_columns(self):
        for host in sorted(glob.glob(os.path.join(base.HOSTS_DIR,
                                                  '*.yaml'))):
            with self.subTest(host=os.path.basename(host)):
                conf = self.write_conf(host)
                rc, out, err = self.nova_mig('discover', '--max-width', '80',
                                             conf_file=conf)
                self.assertEqual(0, rc, err)
                too_long = [line for line in out.splitlines()
                            if len(line) > 80]
                self.assertEqual([], too_long)

    def test_full_width_without_a_limit(self):
        conf = self.write_conf(base.host_file('a100-mixed.yaml'))
        rc, out, _err = self.nova_mig('discover', conf_file=conf)
        self.assertEqual(0, rc)
        self.assertIn('|2g.20gb GI1            |', out)
