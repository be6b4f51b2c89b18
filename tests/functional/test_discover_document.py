# SPDX-License-Identifier: Apache-2.0

"""The discover document of every example host validates against its schema.

``nova-mig discover -f json`` of each simulated host shipped in
``etc/nova-mig/hosts`` carries ``version`` and passes
:data:`nova_mig.documents.discover.SCHEMA`, read back through
the one reader the rebalance planner uses.
"""

import json
import os

import testscenarios

from nova_mig.documents import discover
from nova_mig.rebalance import fleet
from tests.functional import base

load_tests = testscenarios.load_tests_apply_scenarios


class TestDiscoverDocument(base.CliTestCase):

    scenarios = [(name[:-len('.yaml')], {'host': name})
                 for name in sorted(os.listdir(base.HOSTS_DIR))
                 if name.endswith('.yaml')]

    def test_document_is_versioned_and_valid(self):
        conf = self.write_conf(base.host_file(self.host))
        rc, out, err = self.nova_mig('discover', '-f', 'json',
                                     conf_file=conf)
        self.assertEqual(0, rc, err)
        document = json.loads(out)
        self.assertEqual(1, document['version'])
        self.assertEqual(discover.VERSION, document['version'])
        self.assertIs(document, discover.check(document))
        # As the planner reads it: the file, through the shared reader,
        # into the planner's view of the host.
        path = os.path.join(self.tmpdir, 'host.json')
        with open(path, 'w') as f:
            f.write(out)
        self.assertEqual(document, discover.read(path))
        state = fleet.host_state(discover.read(path), path, 0.0)
        self.assertEqual(document['hostname'], state.name)
        # The planner plans the GPUs in MIG mode.
        self.assertEqual([g['pci_address'] for g in document['gpus']
                          if g['mig_mode'] == fleet.MIG_ENABLED],
                         [g.pci_address for g in state.gpus])
