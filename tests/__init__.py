# SPDX-License-Identifier: Apache-2.0

"""nova-mig's tests.

oslo.privsep imports eventlet, which warns that it is deprecated on
import: in the test processes and in the processes they start (privsep
daemons, nova-mig commands). Nothing here can act on it, and the warning
would fill the output of ``tools/quickstart.sh test``.
"""

import os
import warnings

_EVENTLET_WARNING = 'ignore:::oslo_privsep.daemon'

warnings.filterwarnings('ignore', module=r'oslo_privsep\.daemon\Z')
os.environ['PYTHONWARNINGS'] = ','.join(
    w for w in (os.environ.get('PYTHONWARNINGS'), _EVENTLET_WARNING) if w)
