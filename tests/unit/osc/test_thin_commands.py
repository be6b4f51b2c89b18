# SPDX-License-Identifier: Apache-2.0

"""The commands parse, call one library function and render.

``openstack mig capacity``, ``metrics`` and ``rebalance plan`` reach the
cloud only through :mod:`nova_mig.rebalance.survey` or
:mod:`nova_mig.rebalance.planner`: besides the plugin's shared modules
each imports one module of nova-mig's library, and no other command.
"""

import ast
import inspect

from nova_mig.cli import reap
from nova_mig.cli import retype
from nova_mig.osc.v1 import capacity
from nova_mig.osc.v1 import metrics
from nova_mig.osc.v1 import rebalance
from tests import base

SHARED = {'nova_mig.osc.common', 'nova_mig.osc.window'}


def nova_mig_imports(module):
    """The nova_mig modules ``module`` imports (``from x import y``)."""
    tree = ast.parse(inspect.getsource(module))
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and \
                node.module.startswith('nova_mig'):
            found.update('%s.%s' % (node.module, a.name) for a in node.names)
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names
                         if a.name.startswith('nova_mig'))
    return found


class ThinCommandsTestCase(base.TestCase):

    def test_one_library_call_each(self):
        self.assertEqual(
            {'capacity': {'nova_mig.rebalance.survey'},
             'metrics': {'nova_mig.metrics.textfile',
                         'nova_mig.rebalance.survey'},
             'rebalance': {'nova_mig.rebalance.defaults',
                           'nova_mig.rebalance.planner'}},
            {m.__name__.rsplit('.', 1)[1]: nova_mig_imports(m) - SHARED
             for m in (capacity, metrics, rebalance)})

    def test_reap_and_retype_call_one_workflow(self):
        # nova-mig reap and retype: the locks, the queue, the embedded
        # cloud and the resumed state are the workflow's business.
        shared = {'nova_mig.cli.common', 'nova_mig.exitcodes'}
        self.assertEqual(
            {'reap': {'nova_mig.reaper.reaper_run',
                      'nova_mig.workflows.orphan_reaping'},
             'retype': {'nova_mig.workflows.retype',
                        'nova_mig.workflows.retype_run'}},
            {m.__name__.rsplit('.', 1)[1]: nova_mig_imports(m) - shared
             for m in (reap, retype)})
