# SPDX-License-Identifier: Apache-2.0

"""The simulated host's work directory: live state and rendered views.

The work directory holds ``state.json`` (the live state), ``sys`` (the
rendered sysfs tree) and ``libvirt.xml`` (the libvirt test-driver file).
The host is materialised from the host file when the work directory is new
or the host file's content changed; otherwise the live state is reused, so
changes persist between processes.  Every change is saved and rendered
again; only the sysfs entries that differ are rewritten, as the kernel
updates a few attributes of a live ``/sys``.
"""

import contextlib
import fcntl
import json
import logging
import marshal
import os
import shutil
import tempfile
import typing
import urllib.parse

from oslo_config import cfg

from nova_mig import bounded_input
from nova_mig import exception
from nova_mig.simulator import gpu_catalog
from nova_mig.simulator import libvirt_xml
from nova_mig.simulator import live_state
from nova_mig.simulator import sim_exception
from nova_mig.simulator import sysfs

LOG = logging.getLogger(__name__)

STATE_FILE = 'state.json'
LIBVIRT_FILE = 'libvirt.xml'
SYS_LINK = 'sys'
LOCK_FILE = '.lock'
#: Renderings of an older layout of the work directory, removed on sight.
GENERATION_PREFIX = 'sys.'
#: What the current rendering wrote, to change only what differs next time.
MANIFEST_FILE = '.sys-manifest'
#: Digest of the state file the sysfs tree and libvirt XML were last fully
#: rendered from: a crash between saving the state and rendering it leaves
#: a stamp that differs, and the next load renders again from the state.
RENDERED_FILE = '.rendered'
#: Fault injection: the process leaves with :data:`CRASH_STATUS` right
#: after the N-th change of the simulated host it commits (a kernel or
#: card operation), as ``kill -9`` would leave it.
CRASH_ENV = 'NOVA_MIG_SIM_CRASH_AT'
CRASH_STATUS = 137
#: This process's ID and the changes it committed (a forked child counts
#: from zero).
_committed = [0, 0]

#: What identifies one version of a file: inode, mtime (ns) and size.
Stamp = tuple[int, int, int]
#: The sysfs entries of a rendering, by path (see :mod:`.sysfs`).
Manifest = dict[str, sysfs.Entry]


class _Unreadable(Exception):
    pass


def _unreadable(where: str, reason: str) -> Exception:
    return _Unreadable('%s: %s' % (where, reason))


class SimulatedHost:
    """A simulated host materialised in ``work_dir`` from ``host_file``."""

    def __init__(self, host_file: str, work_dir: str,
                 catalog: gpu_catalog.Catalog | None = None) -> None:
        self.host_file = os.path.abspath(host_file)
        self.work_dir = os.path.abspath(work_dir)
        self.catalog = catalog or gpu_catalog.default_catalog()
        #: (manifest file stamp, entries) of this process's last rendering.
        self._cache: tuple[Stamp | None, Manifest] | None = None

    @classmethod
    def from_conf(cls, conf: cfg.ConfigOpts) -> 'SimulatedHost':
        """Build from ``[simulator]host_file`` and ``[simulator]work_dir``.

        :raises: :class:`nova_mig.exception.ConfigError` when no host file
            is configured.
        """
        if not conf.simulator.host_file:
            raise exception.ConfigError(
                reason='[simulator]host_file is not set; set it to a host '
                       'file such as etc/nova-mig/hosts/a100-mixed.yaml to '
                       'use the simulated GPU backend')
        work_dir = conf.simulator.work_dir or os.path.join(
            conf.host.state_dir, 'simulator')
        return cls(conf.simulator.host_file, work_dir)

    # -- paths -----------------------------------------------------------
    @property
    def sysfs_root(self) -> str:
        return os.path.join(self.work_dir, SYS_LINK)

    @property
    def libvirt_path(self) -> str:
        return os.path.join(self.work_dir, LIBVIRT_FILE)

    @property
    def libvirt_uri(self) -> str:
        # libvirt parses the URI: a path with a space or a "%" must be
        # percent-encoded (libvirt decodes it before opening the file).
        return 'test://' + urllib.parse.quote(self.libvirt_path)

    @property
    def state_path(self) -> str:
        return os.path.join(self.work_dir, STATE_FILE)

    def tree_roots(self) -> list[str]:
        """The directory holding the rendered sysfs tree."""
        return [self.sysfs_root]

    # -- state ----------------------------------------------------------------
    @contextlib.contextmanager
    def _locked(self) -> typing.Iterator[None]:
        os.makedirs(self.work_dir, exist_ok=True)
        with open(os.path.join(self.work_dir, LOCK_FILE), 'a') as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def _read_host_file(self) -> bytes:
        return bounded_input.read_input(
            self.host_file, lambda where, reason: sim_exception.HostFileError(
                path=self.host_file, reason=reason))

    def _load_locked(self) -> live_state.HostState:
        content = self._read_host_file()
        digest = live_state.file_digest(content)
        text = b''
        try:
            text = bounded_input.read_input(self.state_path, _unreadable,
                                            bounded_input.MAX_STATE_BYTES,
                                            nofollow=True)
            data = bounded_input.load_json(text, _unreadable)
        except _Unreadable:
            # Rendered again from the host file.
            data = None
        if (isinstance(data, dict) and
                data.get('host_file_sha256') == digest and
                data.get('version') == live_state.STATE_VERSION and
                os.path.exists(self.sysfs_root)):
            # A state this module saved from the same host file, of this
            # version: its records are the ones StateData declares.
            state = live_state.HostState(
                typing.cast(live_state.StateData, data), self.catalog)
            if self._rendered() != live_state.file_digest(text):
                LOG.warning('The simulated host in %s was not rendered '
                            'from its last saved state (a crash in '
                            'between); rendering it again', self.work_dir)
                self._render_locked(state, text, fresh=True)
            return state
        LOG.info('Materialising simulated host from %s into %s',
                 self.host_file, self.work_dir)
        # Imported here: it only parses a new or changed host file.
        from nova_mig.simulator import hostfile

        state = hostfile.parse(content, self.host_file, self.catalog)
        self._save_locked(state)
        return state

    def _save_locked(self, state: live_state.HostState) -> None:
        text = json.dumps(state.data, indent=1, sort_keys=True).encode()
        fd, tmp = tempfile.mkstemp(dir=self.work_dir, suffix='.json')
        with os.fdopen(fd, 'wb') as stream:
            stream.write(text)
        os.chmod(tmp, 0o644)
        os.replace(tmp, self.state_path)
        self._render_locked(state, text)

    def _rendered(self) -> str | None:
        try:
            with open(os.path.join(self.work_dir, RENDERED_FILE),
                      encoding='ascii') as stream:
                return stream.read().strip()
        except (OSError, ValueError):
            return None

    def _render_locked(self, state: live_state.HostState, text: bytes,
                       fresh: bool = False) -> None:
        """Render ``state`` (saved as ``text``), then stamp the rendering.

        :param fresh: render the whole tree again, trusting nothing on disk.
        """
        root = self.sysfs_root
        manifest_path = os.path.join(self.work_dir, MANIFEST_FILE)
        old = None if fresh else self._manifest(manifest_path, self._cache)
        if old is None or not os.path.isdir(root) or os.path.islink(root):
            # First rendering (or a work directory of an older layout,
            # where "sys" was a symlink to generation directories).
            if os.path.islink(root):
                os.unlink(root)
            for stale in self._generations():
                shutil.rmtree(stale, ignore_errors=True)
            shutil.rmtree(root, ignore_errors=True)
            os.makedirs(root, mode=0o755)
            old = {}
        new = sysfs.entries(state)
        changed = sysfs.sync(root, old, new)
        fd, tmp = tempfile.mkstemp(dir=self.work_dir, suffix='.manifest')
        with os.fdopen(fd, 'wb') as stream:
            marshal.dump(new, stream)
        os.replace(tmp, manifest_path)
        self._cache = (_stamp(manifest_path), new)
        fd, tmp = tempfile.mkstemp(dir=self.work_dir, suffix='.xml')
        with os.fdopen(fd, 'w', encoding='utf-8') as stream:
            stream.write(libvirt_xml.render(state))
        os.chmod(tmp, 0o644)
        os.replace(tmp, self.libvirt_path)
        fd, tmp = tempfile.mkstemp(dir=self.work_dir, suffix='.rendered')
        with os.fdopen(fd, 'w', encoding='ascii') as stream:
            stream.write(live_state.file_digest(text) + '\n')
        os.replace(tmp, os.path.join(self.work_dir, RENDERED_FILE))
        LOG.debug('Rendered %s: %d sysfs entries changed', state.hostname,
                  changed)

    @staticmethod
    def _manifest(path: str, cache: tuple[Stamp | None, Manifest] | None
                  ) -> Manifest | None:
        # What is on disk: this process's last rendering when nobody else
        # rendered since, else the manifest file (marshal is fast, and one
        # that cannot be read, say from another Python, costs a full render).
        if cache is not None and cache[0] == _stamp(path):
            return cache[1]
        try:
            with open(path, 'rb') as stream:
                manifest = marshal.load(stream)
        except (OSError, ValueError, EOFError, TypeError):
            return None
        return manifest if isinstance(manifest, dict) else None

    def _generations(self) -> list[str]:
        return [os.path.join(self.work_dir, name)
                for name in os.listdir(self.work_dir)
                if name.startswith(GENERATION_PREFIX)]

    def load(self) -> live_state.HostState:
        """The live state, materialised first when needed."""
        with self._locked():
            return self._load_locked()

    @contextlib.contextmanager
    def transaction(self) -> typing.Iterator[live_state.HostState]:
        """Yield the live state; save and render it if no error escapes.

        Changes made before an exception are discarded, so a refused
        operation leaves the host as it was.
        """
        with self._locked():
            state = self._load_locked()
            work = state.copy()
            yield work
            self._save_locked(work)
        _crash_point()

    def reset(self) -> live_state.HostState:
        """Throw the live state away and materialise the host file again."""
        with self._locked():
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self.state_path)
            return self._load_locked()

    def wipe(self) -> live_state.HostState:
        """Simulate a reboot (see :meth:`HostState.wipe`)."""
        with self.transaction() as state:
            state.wipe()
        return state


def _crash_point() -> None:
    """Count a committed change; die at ``$NOVA_MIG_SIM_CRASH_AT``."""
    if _committed[0] != os.getpid():
        _committed[:] = [os.getpid(), 0]
    _committed[1] += 1
    at = os.environ.get(CRASH_ENV, '')
    if at.isdigit() and _committed[1] == int(at):
        LOG.warning('%s=%s: simulated crash after change %d', CRASH_ENV,
                    at, _committed[1])
        os._exit(CRASH_STATUS)


def _stamp(path: str) -> Stamp | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_ino, st.st_mtime_ns, st.st_size)
