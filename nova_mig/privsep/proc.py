# SPDX-License-Identifier: Apache-2.0

"""Who holds ``/dev/vfio`` open, read as root (context ``proc_pctxt``).

An unprivileged nova-mig cannot read other users' ``/proc/<pid>/fd``, and
without them nothing can be proved free of guests (see
:mod:`nova_mig.host.inuse`). One entry point, taking no argument, scans
the real ``/proc`` and returns only descriptors naming a node below
``/dev/vfio/``: no caller-supplied path, no other process's files.
"""

import errno
import os

from nova_mig import privsep

#: The only process table the daemon reads.
PROC_ROOT = '/proc'
#: The only descriptor targets it reports.
VFIO_PREFIX = '/dev/vfio/'
#: At most this many (node, PID) pairs cross the channel: more is an
#: error (an incomplete view proves nothing), never a truncated answer.
MAX_HOLDERS = 65536
#: linux/capability.h; oslo.privsep's capabilities module is not imported
#: here (it needs the daemon's libraries).
CAP_SYS_PTRACE = 19


def scan(proc_root: str, prefix: str
         ) -> tuple[dict[str, set[int]], int]:
    """Which processes hold open a file whose path contains ``prefix``.

    A descriptor folder that cannot be listed counts as denied. Reading a
    link needs ptrace access to the process (``CAP_SYS_PTRACE`` for
    another user's, root's or an undumpable one): callers make sure they
    have it (:func:`ptrace_capable`, root), as a refused link is skipped
    like a descriptor closed meanwhile.

    :returns: (target path -> PIDs, number of processes whose descriptors
        could not be listed for lack of permission).
    :raises: ``OSError`` when ``proc_root`` cannot be listed.
    """
    holders: dict[str, set[int]] = {}
    denied = 0
    for entry in os.listdir(proc_root):
        if not entry.isdigit():
            continue
        fd_dir = os.path.join(proc_root, entry, 'fd')
        try:
            fds = os.listdir(fd_dir)
        except PermissionError:
            denied += 1
            continue
        except OSError:      # the process exited meanwhile
            continue
        for fd in fds:
            try:
                target = os.readlink(os.path.join(fd_dir, fd))
            except OSError:  # closed meanwhile; or refused by an LSM
                continue
            if prefix in target:
                holders.setdefault(target, set()).add(int(entry))
    return holders, denied


def ptrace_capable(status: str = '/proc/self/status') -> bool:
    """Whether this process has CAP_SYS_PTRACE in its effective set."""
    try:
        with open(status) as f:
            for line in f:
                if line.startswith('CapEff:'):
                    return bool(int(line.split(':', 1)[1], 16) >>
                                CAP_SYS_PTRACE & 1)
    except (OSError, ValueError):
        pass
    return False


@privsep.proc_pctxt.entrypoint
def vfio_holders() -> dict[str, list[int]]:
    """Every open ``/dev/vfio/`` node of the host and the PIDs holding it.

    :raises: ``EACCES`` PermissionError when some process's descriptors
        could not be read (the daemon lacks its capabilities);
        ``E2BIG`` OSError beyond :data:`MAX_HOLDERS` pairs.
    """
    if not ptrace_capable():
        # Without it, a procfs mounted with hidepid hides processes
        # instead of refusing them: nothing would count as denied.
        raise PermissionError(
            errno.EACCES, 'the privileged helper lacks CAP_SYS_PTRACE '
            '(check [nova_mig_privsep_proc]capabilities)')
    holders, denied = scan(PROC_ROOT, VFIO_PREFIX)
    if denied:
        raise PermissionError(
            errno.EACCES, 'the privileged helper cannot read the '
            'descriptors of %d processes in %s (check '
            '[nova_mig_privsep_proc]capabilities)' % (denied, PROC_ROOT))
    found = {node: sorted(pids) for node, pids in holders.items()
             if node.startswith(VFIO_PREFIX)}
    if sum(len(pids) for pids in found.values()) > MAX_HOLDERS:
        raise OSError(errno.E2BIG, 'more than %d open %s descriptors'
                      % (MAX_HOLDERS, VFIO_PREFIX))
    return found
