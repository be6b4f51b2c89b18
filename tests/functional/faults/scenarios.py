# SPDX-License-Identifier: Apache-2.0

"""The commands of the fault-injection tier on a simulated host."""

import os

import fixtures

from nova_mig.host import discovery
from nova_mig.reaper import reap_journal
from tests.functional.faults import base as faults
from tests.functional import layout_base

#: GPU 0: its unused 2g.20gb at 0 becomes two 1g.10gb with vGPUs, beside
#: the running guest's 3g.40gb and the shut-off guest's 1g.10gb.
#: GPU 1: its 4g.40gb (an unused foreign vGPU) becomes a 3g.40gb.
LAYOUT = {'version': 1, 'gpus': [
    {'select': {'pci_address': '0000:41:00.0'}, 'mig': 'enabled',
     'gpu_instances': [
         {'profile': '1g.10gb', 'placement': 0,
          'vgpu': {'type': 'A100D-1-10C'}},
         {'profile': '1g.10gb', 'placement': 1,
          'vgpu': {'type': 'A100D-1-10C'}},
         {'profile': '1g.10gb', 'placement': 2,
          'vgpu': {'uuid': '5b2f9c1e-8a43-4c6e-9d1f-2a7b3c4d5e02',
                   'type': 'A100D-1-10C', 'vf': 1}},
         {'profile': '1g.10gb', 'placement': 3, 'vgpu': False},
         {'profile': '3g.40gb', 'placement': 4,
          'vgpu': {'uuid': '5b2f9c1e-8a43-4c6e-9d1f-2a7b3c4d5e01',
                   'type': 'A100D-3-40C', 'vf': 0}}]},
    {'select': {'pci_address': '0000:81:00.0'}, 'mig': 'enabled',
     'gpu_instances': [
         {'profile': '3g.40gb', 'placement': 0,
          'vgpu': {'type': 'A100D-3-40C'}},
         {'profile': '3g.40gb', 'placement': 4,
          'vgpu': {'type': 'A100D-3-40C'}}]}]}

#: A memory file system where there is one: a scenario renders its
#: simulated sysfs tree (thousands of files) once per crash point.
FAST_TMP = '/dev/shm'

APPLY = ('layout', 'apply', '--include-foreign',
         '--force-with-enabled-service')
REAP = ('reap', '--apply', '--all-unassigned', '--include-foreign',
        '--skip-placement-check', '--force-with-enabled-service')


class FaultTestCase(layout_base.LayoutTestCase):
    """Fresh simulated hosts, the CLI in-process, crash points counted."""

    def setUp(self):
        super().setUp()
        if os.access(FAST_TMP, os.W_OK):
            self.tmpdir = self.useFixture(
                fixtures.TempDir(rootdir=FAST_TMP)).path
            self.use_host(self.host, os.path.join(self.tmpdir, 'sim'))
        self.layout = self.write('layout.yaml', LAYOUT)
        self.snippet = os.path.join(self.tmpdir, 'nova', 'nova-mig.conf')
        self.provider = os.path.join(self.tmpdir, 'nova', 'provider',
                                     'nova-mig.yaml')
        self.proc = os.path.join(self.tmpdir, 'proc')
        os.makedirs(self.proc)
        nova_conf = os.path.join(self.tmpdir, 'nova.conf')
        with open(nova_conf, 'w') as f:
            f.write('[devices]\nenabled_mdev_types = nvidia-1\n')
        with open(self.conf_file, 'a') as f:
            f.write('[nova]\nconfig_snippet = %s\nprovider_config_file = '
                    '%s\n[reaper]\ngrace_period = 0\nproc_root = %s\n'
                    'dev_root = %s\nnova_config_files = %s\n'
                    % (self.snippet, self.provider, self.proc,
                       os.path.join(self.tmpdir, 'dev'), nova_conf))
        self.flags(proc_root=self.proc, group='reaper')

    @property
    def state_dir(self) -> str:
        return self.conf.host.state_dir

    def start_over(self) -> None:
        """The host file's host again, with no state."""
        faults.fresh(self.state_dir)
        faults.fresh(self.work)
        faults.fresh(os.path.dirname(self.snippet))

    def retype_command(self):
        """``retype`` of GPU 0 of the T4 host to 2 x T4-4C, as a callable."""
        layout = self.write('t4.yaml', {'version': 1, 'gpus': [
            {'select': {'pci_address': '0000:3b:00.0'},
             'time_sliced': {'type': 'T4-4C', 'count': 2}}]})
        with open(self.conf_file, 'a') as f:
            f.write('[retype]\nrestart_command = true\n')
        return lambda: self.run_cli(
            'retype', layout, '--skip-service-steps',
            '--skip-placement-check', '--include-foreign')

    def run_cli(self, *args) -> int:
        rc, out, err = self.cli(*args)
        self.last = out + err
        return rc

    def in_use(self) -> set:
        """Devices a domain references, with their GPU instance."""
        report = discovery.discover(self.backend)
        used = set()
        for dev in report.vgpu_devices():
            if dev['domains']:
                used.add((dev['uuid'] or dev['parent'], dev['gpu'],
                          dev['type']))
        return used

    def outcome(self) -> dict:
        """What a converged run leaves: host, ownership, journals."""
        pending = reap_journal.Journal(self.state_dir).pending()
        return {'host': self.snapshot(),
                'owned': sorted(faults.owned_exactly(self.state_dir)),
                'reaper_pending': [p['device'] for p in pending],
                'snippet': _text(self.snippet),
                'provider': _text(self.provider)}

    # -- the driver --------------------------------------------------------
    def converges(self, name, prepare, command) -> None:
        """Kill ``command`` at its crash points; a re-run converges."""
        counts = faults.COUNTS[name]
        self.start_over()
        prepare()
        points = faults.CrashPoints(self.work)
        with points.installed():
            want_rc = command()
        want = self.outcome()
        kinds = points.kinds
        self.assertTrue(kinds, 'no crash point in %s' % name)
        counts['steps'] = len(kinds)
        counts['kinds'] = len(set(kinds))
        for at in faults.sample(kinds):
            self.start_over()
            prepare()
            used = self.in_use()
            status = faults.killed(self.work, at, command)
            where = '%s killed at step %d (%s)' % (name, at, kinds[at - 1])
            self.assertEqual(faults.CRASHED, status, where)
            counts['killed'] += 1
            lost = used - self.in_use()
            counts['in-use lost'] += len(lost)
            self.assertEqual(set(), lost, where)
            self.assertEqual(want_rc, command(), where + ': ' + self.last)
            self.assertEqual(want, self.outcome(), where)
            counts['converged'] += 1


def _text(path: str) -> str | None:
    try:
        with open(path) as f:
            return f.read()
    except FileNotFoundError:
        return None
