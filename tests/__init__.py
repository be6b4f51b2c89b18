# SPDX-License-Identifier: Apache-2.0

"""nova-mig's tests.

oslo.privsep imports eventlet, which warns that it is deprecated on
import: in the test processes and in the processes they start (privsep
daemons, nova-mig commands). Nothing here can act on it, and the warning
would fill the output of ``tools/quickstart.sh test``.

``NOVA_MIG_TEST_WORKER_LIMIT`` (seconds; ``tools/quickstart.sh test``
sets it) bounds the life of each test process that imports this package:
past it, :mod:`faulthandler` writes every thread's traceback to stderr
and ends the process. ``OS_TEST_TIMEOUT`` bounds each test; this bounds
what no test's alarm covers (a worker that hangs between tests or at its
exit), so a hung run ends with the place it hung instead of running into
CI's own limit with nothing said.
"""

import faulthandler
import os
import sys
import warnings

_EVENTLET_WARNING = 'ignore:::oslo_privsep.daemon'
WORKER_LIMIT_ENV = 'NOVA_MIG_TEST_WORKER_LIMIT'

warnings.filterwarnings('ignore', module=r'oslo_privsep\.daemon\Z')
os.environ['PYTHONWARNINGS'] = ','.join(
    w for w in (os.environ.get('PYTHONWARNINGS'), _EVENTLET_WARNING) if w)


def _arm_worker_limit() -> None:
    try:
        limit = float(os.environ.get(WORKER_LIMIT_ENV) or 0)
    except ValueError:
        limit = 0
    if limit > 0 and sys.__stderr__ is not None:
        faulthandler.dump_traceback_later(limit, exit=True,
                                          file=sys.__stderr__)


_arm_worker_limit()
