# SPDX-License-Identifier: Apache-2.0

"""nova-mig uses no private API of Python or oslo (issue 23 item 6).

The one exception is oslo.privsep's client channel base class, kept in one
documented adapter (nova_mig.privsep.channel): oslo.privsep has no public
way to listen on a fixed socket path.
"""

import os
import re

import nova_mig
from tests import base

ROOT = os.path.dirname(nova_mig.__file__)

#: Names once used for start-up tricks or to skip a public import.
FORBIDDEN = re.compile(
    r'atexit\._|gc\.set_threshold|gc\.freeze|'
    r'oslo_log\._options|from oslo_log import _options|'
    r'from oslo_\w+ import _(?!i18n)|\bsys\._getframe')

#: oslo.privsep's private names, allowed in its adapter only.
PRIVSEP_PRIVATE = re.compile(r'\bdaemon\._|\bpriv_context\._|\bcomm\._')
ADAPTER = os.path.join(ROOT, 'privsep', 'channel.py')


def _sources():
    for top, _dirs, files in os.walk(ROOT):
        for name in files:
            if name.endswith('.py'):
                path = os.path.join(top, name)
                with open(path, encoding='utf-8') as f:
                    yield path, f.read()


class TestNoPrivateApis(base.TestCase):

    def test_no_forbidden_private_name(self):
        found = ['%s: %s' % (os.path.relpath(path, ROOT), m.group(0))
                 for path, text in _sources()
                 for m in FORBIDDEN.finditer(text)]
        self.assertEqual([], found)

    def test_oslo_privsep_private_names_only_in_the_adapter(self):
        found = {os.path.relpath(path, ROOT)
                 for path, text in _sources()
                 if PRIVSEP_PRIVATE.search(text)}
        self.assertEqual({'privsep/channel.py'}, found)
        with open(ADAPTER, encoding='utf-8') as f:
            text = f.read()
        self.assertEqual(['daemon._ClientChannel'],
                         sorted(set(re.findall(r'daemon\._\w+', text))))
