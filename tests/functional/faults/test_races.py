# SPDX-License-Identifier: Apache-2.0

"""A guest claims a target between the plan and its destructive step.

For each destructive step of ``layout apply``, ``reap --apply`` and
``retype`` (remove a vGPU device, destroy a compute or GPU instance,
create a vGPU on a VF the planner picked), a user appears right before
the step: a domain referencing the device or VF (running, then shut off)
or a process on the GPU instance.  The step must be skipped and reported,
the run must end non-zero with the target intact, and once the user is
gone a re-run must end like an undisturbed run.
"""

import itertools
from unittest import mock

from nova_mig.host import inuse
from nova_mig.layout import executor as executor_mod
from nova_mig.reaper import decide
from nova_mig.reaper import evidence
from tests.functional.faults import base as faults
from tests.functional.faults import scenarios
from tests.functional.reaper import base as reaper_base

_SERIAL = itertools.count(1)


class RaceTestCase(scenarios.FaultTestCase):

    def claim(self, target: inuse.Target, state: str) -> None:
        """Make ``target`` used, as a guest or a CUDA process would."""
        with self.backend.host.transaction() as host:
            if target.kind == inuse.GPU_INSTANCE:
                gpu = host.gpu_by_uuid(target.key)
                gi = host.gpu_instance(gpu, target.gi_id)
                gi['processes'].append(4242)
                return
            host.domains.append({
                'name': 'instance-race-%d' % next(_SERIAL),
                'uuid': '0e0e0e0e-0000-4000-8000-%012d' % next(_SERIAL),
                'state': state, 'nova': True, 'display_name': 'race',
                'mdevs': [target.key] if target.kind == inuse.MDEV else [],
                'pci_hostdevs': ([target.key] if target.kind ==
                                 inuse.FUNCTION else [])})

    def release(self) -> None:
        """The racing guests go away (deleted), the processes end."""
        with self.backend.host.transaction() as host:
            host.data['domains'] = [d for d in host.domains
                                    if not d['name'].startswith(
                                        'instance-race-')]
            for gpu in host.gpus:
                for gi in gpu['gpu_instances']:
                    gi['processes'] = [p for p in gi['processes']
                                       if p != 4242]

    def intact(self, target: inuse.Target) -> bool:
        """The claimed target still exists as it did."""
        host = self.backend.host.load()
        if target.kind == inuse.MDEV:
            return host.vgpu(target.key) is not None
        if target.kind == inuse.GPU_INSTANCE:
            gpu = host.gpu_by_uuid(target.key)
            return host.gpu_instance(gpu, target.gi_id) is not None
        # A VF: no vGPU was created on it for someone else.
        return not host.vgpus_on(target.key) or target.key in self.before

    def races(self, name: str, spy_on, command) -> None:
        """Claim, in turn, the target of each destructive step."""
        counts = faults.COUNTS[name]
        self.start_over()
        seen: list = []
        with spy_on(lambda targets: seen.append(targets)):
            want_rc = command()
        want = self.outcome()
        self.assertTrue(seen, 'no destructive step in %s' % name)
        counts['steps'] = len(seen)
        for index, targets in enumerate(seen):
            state = ('running', 'shutoff')[index % 2]
            self.start_over()
            self.before = {v['parent'] for v in
                           self.backend.host.load().vgpus}
            calls = []

            def hook(found, index=index, state=state):
                calls.append(found)
                if len(calls) == index + 1:
                    for target in found:
                        self.claim(target, state)

            with spy_on(hook):
                rc = command()
            where = '%s: %s claimed (%s) before step %d' % (
                name, targets[0].describe(), state, index + 1)
            counts['races'] += 1
            self.assertNotEqual(0, rc, where)
            self.assertIn('in use', self.last, where)
            lost = [t for t in targets if not self.intact(t)]
            counts['in-use lost'] += len(lost)
            self.assertEqual([], lost, where)
            self.release()
            self.assertEqual(want_rc, command(), where + ': ' + self.last)
            self.assertEqual(want, self.outcome(), where)
            counts['converged'] += 1


def apply_targets(hook):
    """Call ``hook(targets)`` for each destructive step of layout apply."""
    real = executor_mod.Executor.targets

    def targets(executor, step):
        found = real(executor, step)
        if found:
            hook(found)
        return found
    return mock.patch.object(executor_mod.Executor, 'targets', targets)


def reaper_targets(hook):
    """Call ``hook(targets)`` before each removal's re-check."""
    real = evidence.Gatherer.recheck

    def recheck(gatherer, f: decide.DeviceFacts):
        kind = inuse.MDEV if f.kind == 'mdev' else inuse.FUNCTION
        hook([inuse.Target(kind, f.key)])
        return real(gatherer, f)
    return mock.patch.object(evidence.Gatherer, 'recheck', recheck)


class TestRaces(RaceTestCase):

    def test_layout_apply(self):
        self.races('layout apply (races)', apply_targets,
                   lambda: self.run_cli(*scenarios.APPLY, self.layout))


class TestRacesReap(RaceTestCase):

    host = reaper_base.CASES

    def test_reap_apply(self):
        self.races('reap --apply (races)', reaper_targets,
                   lambda: self.run_cli(*scenarios.REAP))


class TestRacesRetype(RaceTestCase):

    host = 't4-orphans.yaml'

    def test_retype(self):
        def spy(hook):
            stack = [apply_targets(hook), reaper_targets(hook)]

            class Both:
                def __enter__(self):
                    for patch in stack:
                        patch.__enter__()

                def __exit__(self, *exc):
                    for patch in reversed(stack):
                        patch.__exit__(*exc)
            return Both()

        self.races('retype (races)', spy, self.retype_command())
