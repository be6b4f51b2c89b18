"""The simulated host's work directory: live state and rendered views.

The work directory holds ``state.json`` (the live state), ``sys`` (a
symlink to the current rendering of the sysfs tree) and ``libvirt.xml``
(the libvirt test-driver file).  The host is materialised from the host
file when the work directory is new or the host file's content changed;
otherwise the live state is reused, so changes persist between processes.
Every change is saved and rendered again: the sysfs tree is rendered into
a new directory and the ``sys`` symlink swapped atomically, so readers
never see a half-written tree.  Do not cache the ``sys`` symlink's target.
"""

import contextlib
import fcntl
import json
import os
import shutil
import tempfile

from oslo_log import log as logging

from nova_mig import exception
from nova_mig.simulator import catalog as catalog_mod
from nova_mig.simulator import hostfile
from nova_mig.simulator import libvirt_xml
from nova_mig.simulator import state as state_mod
from nova_mig.simulator import sysfs

LOG = logging.getLogger(__name__)

STATE_FILE = 'state.json'
LIBVIRT_FILE = 'libvirt.xml'
SYS_LINK = 'sys'
LOCK_FILE = '.lock'
GENERATION_PREFIX = 'sys.'


class SimulatedHost:
    """A simulated host materialised in ``work_dir`` from ``host_file``."""

    def __init__(self, host_file: str, work_dir: str,
                 catalog: catalog_mod.Catalog | None = None):
        self.host_file = os.path.abspath(host_file)
        self.work_dir = os.path.abspath(work_dir)
        self.catalog = catalog or catalog_mod.default_catalog()

    @classmethod
    def from_conf(cls, conf) -> 'SimulatedHost':
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
        return 'test://' + self.libvirt_path

    @property
    def state_path(self) -> str:
        return os.path.join(self.work_dir, STATE_FILE)

    def tree_roots(self) -> list[str]:
        """Real directories of every rendering still on disk."""
        return [os.path.join(self.work_dir, name)
                for name in os.listdir(self.work_dir)
                if name.startswith(GENERATION_PREFIX)]

    # -- state ----------------------------------------------------------------
    @contextlib.contextmanager
    def _locked(self):
        os.makedirs(self.work_dir, exist_ok=True)
        with open(os.path.join(self.work_dir, LOCK_FILE), 'a') as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def _read_host_file(self) -> bytes:
        try:
            with open(self.host_file, 'rb') as stream:
                return stream.read()
        except OSError as exc:
            raise exception.HostFileError(path=self.host_file,
                                          reason=exc.strerror)

    def _load_locked(self) -> state_mod.HostState:
        content = self._read_host_file()
        digest = hostfile.file_digest(content)
        try:
            with open(self.state_path, encoding='utf-8') as stream:
                data = json.load(stream)
        except (OSError, ValueError):
            data = None
        if (data and data.get('host_file_sha256') == digest and
                data.get('version') == state_mod.STATE_VERSION and
                os.path.exists(self.sysfs_root)):
            return state_mod.HostState(data, self.catalog)
        LOG.info('Materialising simulated host from %s into %s',
                 self.host_file, self.work_dir)
        state = hostfile.parse(content, self.host_file, self.catalog)
        self._save_locked(state)
        return state

    def _save_locked(self, state: state_mod.HostState) -> None:
        fd, tmp = tempfile.mkstemp(dir=self.work_dir, suffix='.json')
        with os.fdopen(fd, 'w', encoding='utf-8') as stream:
            json.dump(state.data, stream, indent=1, sort_keys=True)
        os.chmod(tmp, 0o644)
        os.replace(tmp, self.state_path)
        self._render_locked(state)

    def _render_locked(self, state: state_mod.HostState) -> None:
        new_root = tempfile.mkdtemp(dir=self.work_dir,
                                    prefix=GENERATION_PREFIX)
        sysfs.render(state, new_root)
        os.chmod(new_root, 0o755)
        link_tmp = os.path.join(self.work_dir, '.sys.link')
        with contextlib.suppress(FileNotFoundError):
            os.unlink(link_tmp)
        os.symlink(os.path.basename(new_root), link_tmp)
        previous = (os.path.realpath(self.sysfs_root)
                    if os.path.islink(self.sysfs_root) else None)
        os.replace(link_tmp, self.sysfs_root)
        fd, tmp = tempfile.mkstemp(dir=self.work_dir, suffix='.xml')
        with os.fdopen(fd, 'w', encoding='utf-8') as stream:
            stream.write(libvirt_xml.render(state))
        os.chmod(tmp, 0o644)
        os.replace(tmp, self.libvirt_path)
        # Keep the previous rendering for readers still walking it.
        keep = {new_root, previous}
        for root in self.tree_roots():
            if root not in keep:
                shutil.rmtree(root, ignore_errors=True)

    def load(self) -> state_mod.HostState:
        """The live state, materialised first when needed."""
        with self._locked():
            return self._load_locked()

    @contextlib.contextmanager
    def transaction(self):
        """Yield the live state; save and render it if no error escapes.

        Changes made before an exception are discarded, so a refused
        operation leaves the host as it was.
        """
        with self._locked():
            state = self._load_locked()
            work = state.copy()
            yield work
            self._save_locked(work)

    def reset(self) -> state_mod.HostState:
        """Throw the live state away and materialise the host file again."""
        with self._locked():
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self.state_path)
            return self._load_locked()

    def wipe(self) -> state_mod.HostState:
        """Simulate a reboot (see :meth:`HostState.wipe`)."""
        with self.transaction() as state:
            state.wipe()
        return state
