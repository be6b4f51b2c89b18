# SPDX-License-Identifier: Apache-2.0

"""nova-mig installed the way operators install it, in a fresh venv.

The virtual environment gets ``requirements.txt`` and nothing else, then
nova-mig itself as a wheel with ``--no-deps``: no test requirement, no
extra (so no openstack-placement, no oslo.db). It is built once and kept
under ``.tox/production/`` (or ``$NOVA_MIG_PRODUCTION_DIR``), keyed by a
hash of the Python version and ``requirements.txt``; nova-mig is
reinstalled from the working tree once per test run. The commands run as
subprocesses of that venv against the integration tier's Keystone,
Placement and Nova API.
"""

import fcntl
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile

from tests.integration import base as integration_base
from tests.integration import services

REPO = services.REPO
DIR_ENV = 'NOVA_MIG_PRODUCTION_DIR'
#: Marks a virtual environment whose requirements installed completely.
COMPLETE = '.nova-mig-requirements-complete'
LOG_TAIL = 30
#: Seconds each install step has (outside the test's own time limit).
STEP_LIMIT = 1200


class InstallError(services.ServiceError):
    """The production venv could not be built; the message has pip's log."""


def _key() -> str:
    digest = hashlib.sha256(sys.version.encode())
    with open(os.path.join(REPO, 'requirements.txt'), 'rb') as f:
        digest.update(f.read())
    return digest.hexdigest()[:16]


def _run(argv: list[str], log_path: str) -> None:
    with open(log_path, 'a') as log:
        log.write('$ %s\n' % ' '.join(argv))
        log.flush()
        try:
            rc = subprocess.call(argv, stdout=log, stderr=subprocess.STDOUT,
                                 stdin=subprocess.DEVNULL, cwd=REPO,
                                 env=services.child_env({}),
                                 timeout=STEP_LIMIT)
        except subprocess.TimeoutExpired:
            why = 'did not end within %d s (killed)' % STEP_LIMIT
        else:
            why = 'failed (exit %d)' % rc if rc else ''
    if why:
        raise InstallError('"%s" %s; log %s:\n%s'
                           % (' '.join(argv[:4]), why, log_path,
                              services.tail(log_path, LOG_TAIL)))


def _build(root: str) -> str:
    """The venv with requirements.txt; built when missing or incomplete."""
    venv = os.path.join(root, 'venv-' + _key())
    log_path = os.path.join(root, 'install.log')
    if os.path.exists(os.path.join(venv, COMPLETE)):
        return venv
    shutil.rmtree(venv, ignore_errors=True)
    _run([sys.executable, '-m', 'venv', venv], log_path)
    _run([os.path.join(venv, 'bin', 'python'), '-m', 'pip', 'install', '-q',
          '-r', os.path.join(REPO, 'requirements.txt')], log_path)
    with open(os.path.join(venv, COMPLETE), 'w') as f:
        f.write(_key() + '\n')
    return venv


def _install_nova_mig(root: str, venv: str) -> None:
    """nova-mig from the working tree, as a wheel, without dependencies."""
    log_path = os.path.join(root, 'install.log')
    wheels = tempfile.mkdtemp(prefix='wheel-', dir=root)
    try:
        _run([sys.executable, '-m', 'pip', 'wheel', '-q', '--no-deps',
              '-w', wheels, REPO], log_path)
        (wheel,) = [os.path.join(wheels, w) for w in os.listdir(wheels)]
        _run([os.path.join(venv, 'bin', 'python'), '-m', 'pip', 'install',
              '-q', '--no-deps', '--force-reinstall', wheel], log_path)
    finally:
        shutil.rmtree(wheels, ignore_errors=True)


_VENV: str | None = None
_ERROR: InstallError | None = None


def production_venv() -> str:
    """The production venv of this test run, prepared on first use.

    Like the services, prepared once per run (the tier runs in the
    integration tier's worker), outside the test's time limit; a failure
    shows pip's log once and fails the later tests in one line.
    """
    global _VENV, _ERROR
    if _ERROR is not None:
        raise services.ServicesUnavailable(
            'the production venv failed to install earlier in this run: '
            '%s' % str(_ERROR).splitlines()[0])
    if _VENV is None:
        root = os.environ.get(DIR_ENV) or os.path.join(REPO, '.tox',
                                                       'production')
        os.makedirs(root, exist_ok=True)
        try:
            with open(os.path.join(root, '.lock'), 'w') as lock:
                # Another run on this checkout may be building it.
                fcntl.flock(lock, fcntl.LOCK_EX)
                venv = services.untimed(_build, root)
                services.untimed(_install_nova_mig, root, venv)
        except InstallError as e:
            _ERROR = e
            raise
        _VENV = venv
    return _VENV


class ProductionTestCase(integration_base.IntegrationTestCase):
    """Run the installed ``nova-mig`` of the production venv."""

    def setUp(self):
        super().setUp()
        self.venv = production_venv()

    def installed(self, *args: str, conf_file: str | None = None,
                  env: dict[str, str] | None = None
                  ) -> tuple[int, str, str]:
        """Run the venv's nova-mig; return (exit code, stdout, stderr)."""
        argv = [os.path.join(self.venv, 'bin', 'nova-mig')]
        if conf_file:
            argv += ['--config-file', conf_file]
        argv += list(args)
        # No PYTHONPATH: the venv must import its own nova-mig, never the
        # working tree's.
        run_env = {k: v for k, v in services.child_env(env or {}).items()
                   if k != 'PYTHONPATH'}
        result = subprocess.run(argv, capture_output=True, text=True,
                                cwd=self.tmpdir, env=run_env,
                                stdin=subprocess.DEVNULL, timeout=300,
                                check=False)
        return result.returncode, result.stdout, result.stderr
