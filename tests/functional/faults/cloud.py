# SPDX-License-Identifier: Apache-2.0

"""Fault scenarios of the workflows that talk to a cloud.

``rebalance apply``, ``retype --per-gpu`` and ``retype`` restart
nova-compute and wait for Placement; ``retype`` also disables and enables
the nova-compute service in the Compute API.  Here the host is registered
in an embedded Placement (started once per test; a scenario brings it back
to the host's first configuration before each run), the Compute API is the
embedded cloud's service records in the state directory, and the restart
command is the simulated restart, run as a command like systemctl would
be.

A converged state is compared whole: the host, the ownership record (no
intent left), the reaper journal, both Nova configuration files, the
checkpoint, Placement's providers and inventories, the service record, and
no journal or temporary file left; "nova-mig verify" must report it clean.
"""

import json
import os
import sys

from oslo_config import cfg

import nova_mig.conf
from nova_mig.layout import checkpoint
from nova_mig.novaconf import config_writer
from nova_mig.simulator import cloud
from nova_mig.simulator import nova_compute
from nova_mig.workflows import retype
from tests import base as test_base
from tests.functional.faults import base as faults
from tests.functional.faults import scenarios

#: The per-GPU drain's journal in the state directory (named here, not
#: imported: the tier also runs against products without one).
DRAIN_JOURNAL = 'drain-journal.json'

#: The a100-mixed host's GPU 81: its 4g.40gb and 3g.40gb (an unused
#: foreign vGPU device) become one 7g.80gb.
REBALANCE = '''version: 1
gpus:
  - select: {pci_address: "0000:81:00.0"}
    mig: enabled
    sriov_vfs: 16
    gpu_instances:
      - {profile: 7g.80gb, placement: 0}
'''
#: The t4-orphans host's GPU 0 (one orphan T4-8C) becomes 2 x T4-4C.
T4_RETYPE = '''version: 1
gpus:
  - select: {pci_address: "0000:3b:00.0"}
    time_sliced: {type: T4-4C, count: 2}
'''


class CloudFaultTestCase(scenarios.FaultTestCase):
    """A fault scenario whose host is registered in an embedded Placement."""

    hostname = 'compute-a100-1'

    def setUp(self):
        super().setUp()
        # In a process of its own: the scenarios fork this one.
        self.server = self.useFixture(test_base.PlacementProcess(
            os.path.join(self.tmpdir, 'cloud')))
        url = self.server.url
        restart = ','.join([sys.executable, '-m',
                            'nova_mig.simulator.nova_compute',
                            '--config-file', self.conf_file])
        with open(self.conf_file, 'a') as f:
            f.write('[nova]\nhypervisor_hostname = %s\n'
                    '[placement]\nauth_type = admin_token\nendpoint = %s\n'
                    'token = admin\nendpoint_override = %s\n'
                    '[retype]\nallow_restart = true\nrestart_command = %s\n'
                    'poll_interval = 0\nplacement_timeout = 20\n'
                    % (self.hostname, url, url, restart))

    def load(self) -> cfg.ConfigOpts:
        conf = cfg.ConfigOpts()
        nova_mig.conf.register_opts(conf)
        conf(['--config-file', self.conf_file], project='nova-mig')
        return conf

    def registered(self) -> None:
        """Nova configured for the host, Placement showing it."""
        self.assertEqual(0, self.run_cli('nova-config'), self.last)
        nova_compute.restart(self.load())

    def service(self) -> tuple[str, str | None]:
        record = cloud.ComputeServices(self.state_dir).get(self.hostname)
        return record.status, record.disabled_reason

    def placement(self) -> dict[str, dict[str, int]]:
        client = self.server.client()
        found = {}
        for rp in client.providers():
            inventories, _ = client.inventories(rp['uuid'])
            found[rp['name']] = {rc: inv['total']
                                 for rc, inv in inventories.items()}
        return found

    def leftovers(self) -> list[str]:
        """Journals, retype state and temporary files left behind."""
        found = []
        for path in (os.path.join(self.state_dir, DRAIN_JOURNAL),
                     config_writer.journal_path(self.snippet),
                     os.path.join(self.state_dir, retype.STATE_FILE)):
            if os.path.exists(path):
                found.append(path)
        # Temporary files of the journals (those of the Nova
        # configuration are removed by a write once a minute old).
        if os.path.isdir(self.state_dir):
            found += [os.path.join(self.state_dir, n)
                      for n in os.listdir(self.state_dir)
                      if n.endswith('.tmp') and n.startswith(
                          ('.%s.' % DRAIN_JOURNAL,
                           '.%s.' % retype.STATE_FILE))]
        return sorted(found)

    def outcome(self) -> dict:
        result = super().outcome()
        try:
            with open(checkpoint.path(self.state_dir)) as f:
                saved = json.load(f)['layout']
        except FileNotFoundError:
            saved = None
        result.update(checkpoint=saved, placement=self.placement(),
                      service=self.service(), leftovers=self.leftovers())
        return result

    def clean(self, where: str) -> None:
        """``nova-mig verify`` reports the host clean."""
        rc = self.run_cli('verify')
        self.assertEqual(0, rc, where + ': ' + self.last)

    # -- the drivers -------------------------------------------------------
    def reference(self, name, prepare, command):
        """The uninterrupted run: its exit code and outcome."""
        self.start_over()
        prepare()
        points = faults.CrashPoints(self.work)
        with points.installed():
            want_rc = command()
        self.assertEqual(0, want_rc, self.last)
        self.clean(name)
        return want_rc, self.outcome(), points.kinds

    def killed_everywhere(self, name, prepare, command, points=None):
        """Kill ``command`` at each crash point; the re-run converges."""
        counts = faults.COUNTS[name]
        want_rc, want, kinds = self.reference(name, prepare, command)
        counts['steps'] = len(kinds)
        counts['kinds'] = len(set(kinds))
        for at in points or range(1, len(kinds) + 1):
            self.start_over()
            prepare()
            used = self.in_use()
            status = faults.killed(self.work, at, command)
            where = '%s killed at step %d (%s)' % (name, at, kinds[at - 1])
            self.assertEqual(faults.CRASHED, status, where)
            counts['killed'] += 1
            self.assertEqual(set(), used - self.in_use(), where)
            self.assertEqual(want_rc, command(), where + ': ' + self.last)
            self.assertEqual(want, self.outcome(), where)
            self.clean(where)
            counts['converged'] += 1
        _record(name, counts)

    def full_disk_everywhere(self, name, prepare, command):
        """ENOSPC at each write point: refused or converged on re-run."""
        counts = faults.COUNTS[name + ' (full disk)']
        want_rc, want, _ = self.reference(name, prepare, command)
        self.start_over()
        prepare()
        points = faults.FullDisk(self.work)
        with points.installed():
            self.assertEqual(want_rc, command(), self.last)
        kinds = points.kinds
        self.assertTrue(kinds, 'no write point in %s' % name)
        counts['write points'] = len(kinds)
        for at in range(1, len(kinds) + 1):
            self.start_over()
            prepare()
            used = self.in_use()
            status = faults.full_disk(self.work, at, command)
            where = '%s: no space at write %d (%s)' % (
                name, at, kinds[at - 1])
            self.assertEqual(set(), used - self.in_use(), where)
            if status == 0:
                # A run that says it succeeded must have done it all.
                self.assertEqual(want, self.outcome(), where)
                counts['succeeded anyway'] += 1
            else:
                self.assertEqual(1, status, where)
                counts['failed'] += 1
            self.assertEqual(want_rc, command(), where + ': ' + self.last)
            self.assertEqual(want, self.outcome(), where)
            self.clean(where)
            counts['converged'] += 1
        _record(name + ' (full disk)', counts)


def _record(name: str, counts: dict) -> None:
    """Append a scenario's counts to ``$NOVA_MIG_FAULT_COUNTS`` (docs)."""
    path = os.environ.get('NOVA_MIG_FAULT_COUNTS')
    if path:
        with open(path, 'a') as f:
            f.write(json.dumps({'scenario': name, **counts}) + '\n')
