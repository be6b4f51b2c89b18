# SPDX-License-Identifier: Apache-2.0

"""Helpers of the bad-input tier's hostile classes: a measured child, peers.

Every hostile case runs the command in a child process, as an operator
would, and measures it: its exit code, its standard streams, the most
memory it held (``ru_maxrss`` of that one child, from ``os.wait4``) and
how long it ran. The child runs under an address-space limit
(:data:`AS_LIMIT`), so a regression that reads ``/dev/zero`` or expands
an alias bomb fails the test instead of taking the machine's memory; the
test itself asserts far less (:data:`MAX_RSS_MB`).
"""

import dataclasses
import os
import resource
import stat
import subprocess
import sys
import tempfile
import time

#: The most resident memory a refused input may cost, in MiB.
MAX_RSS_MB = 200
#: Seconds a refusal may take (a FIFO or a hanging peer: much less).
TIMEOUT = 60
#: The child's address-space limit, a safety net (bytes).
AS_LIMIT = 2 * 1024 ** 3

REPO = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))


def nova_mig() -> list[str]:
    """The installed console script, else the same entry point."""
    script = os.path.join(os.path.dirname(sys.executable), 'nova-mig')
    if os.path.exists(script):
        return [script]
    return [sys.executable, '-m', 'nova_mig.cli.shell']


#: ``openstack mig rebalance plan`` over the unit tier's fake cloud (one
#: compute node ``cn1`` offering seven 1g.10gb slices, two boots of
#: 3g.40gb failed with NoValidHost): the command class OSC runs, parsed
#: and run as cliff does; a CommandError is printed as OSC prints it.
REBALANCE_PLAN = '''
import sys, types
from osc_lib import exceptions
from nova_mig.osc.v1 import rebalance
from tests.unit.flavor import fakes as flavor_fakes
from tests.unit.osc.v1 import fakes
placement = flavor_fakes.FakePlacementAdapter()
compute = fakes.Compute()
compute.fail_boot(fakes.RC3G, 2)
fakes.provider(placement, 'cn1', fakes.RC1G, 7, 0)
conn = types.SimpleNamespace(placement=placement, compute=compute)
app = types.SimpleNamespace(
    client_manager=types.SimpleNamespace(sdk_connection=conn),
    stdout=sys.stdout, stderr=sys.stderr, options=None)
cmd = rebalance.PlanRebalance(app, None)
args = cmd.get_parser('openstack mig rebalance plan').parse_args(
    sys.argv[1:] + ['-f', 'json'])
try:
    sys.exit(cmd.run(args))
except exceptions.CommandError as e:
    sys.stderr.write('%s\\n' % e)
    sys.exit(1)
'''


def rebalance_plan() -> list[str]:
    return [sys.executable, '-c', REBALANCE_PLAN]


@dataclasses.dataclass
class Child:
    rc: int
    out: str
    err: str
    max_rss_mb: float
    seconds: float
    timed_out: bool


def _limit() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (AS_LIMIT, AS_LIMIT))


def run(argv: list[str], timeout: float = TIMEOUT,
        cwd: str = REPO) -> Child:
    """Run ``argv``; kill it after ``timeout`` seconds; measure it."""
    env = dict(os.environ, OPENBLAS_NUM_THREADS='1', OMP_NUM_THREADS='1',
               PYTHONPATH=REPO)
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        started = time.monotonic()
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out,
                                stderr=err, cwd=cwd, env=env,
                                preexec_fn=_limit)
        timed_out = False
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            if time.monotonic() - started > timeout:
                timed_out = True
                proc.kill()
                pid, status, usage = os.wait4(proc.pid, 0)
                break
            time.sleep(0.02)
        seconds = time.monotonic() - started
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        return Child(rc=proc.returncode,
                     out=out.read().decode('utf-8', 'replace'),
                     err=err.read().decode('utf-8', 'replace'),
                     max_rss_mb=usage.ru_maxrss / 1024.0, seconds=seconds,
                     timed_out=timed_out)


def snapshot(root: str) -> dict[str, str]:
    """Each path under ``root``: its kind and size and change time.

    Never opens a file, so a FIFO or device under ``root`` is harmless.
    """
    result = {}
    for directory, dirs, files in os.walk(root):
        for name in dirs + files:
            path = os.path.join(directory, name)
            st = os.lstat(path)
            kind = stat.S_IFMT(st.st_mode)
            result[os.path.relpath(path, root)] = '%o %d %d' % (
                kind, st.st_size if stat.S_ISREG(st.st_mode) else 0,
                st.st_mtime_ns if stat.S_ISREG(st.st_mode) else 0)
    return result


def alias_bomb(key: str = 'lol', levels: int = 12) -> str:
    """About 1 KB of YAML anchors expanding to 9 * 4**levels values.

    A flow sequence to put where a value goes: ``&a0 [x, ...]`` nested
    into ``&a1 [*a0, *a0, *a0, *a0]`` and so on.
    """
    text = '&%s0 [x, x, x, x, x, x, x, x, x]' % key
    for i in range(1, levels):
        text = '&%s%d [%s, *%s%d, *%s%d, *%s%d]' % (
            key, i, text, key, i - 1, key, i - 1, key, i - 1)
    return text
