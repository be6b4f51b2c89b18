# SPDX-License-Identifier: Apache-2.0

"""Real Keystone, Placement and Nova API processes on 127.0.0.1."""

import atexit
import concurrent.futures
import grp
import importlib.metadata
import importlib.util
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import typing
import unittest
import urllib.error
import urllib.request

import fixtures
from keystoneauth1.identity import v3
from keystoneauth1 import session as ks_session

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..'))
#: Module name -> the distribution to install when it is missing.
REQUIRED = {'keystone': 'keystone', 'placement': 'openstack-placement',
            'nova': 'nova', 'keystonemiddleware': 'keystonemiddleware',
            'openstack': 'openstacksdk'}
REGION = 'RegionOne'
DOMAIN = 'Default'
#: Environment variable raising (or lowering) the start limit, seconds.
START_TIMEOUT_ENV = 'NOVA_MIG_SERVICE_START_TIMEOUT'
#: The default start limit of each service, database set-up included. On a
#: busy 2-core machine Keystone's db_sync and bootstrap alone took 61 s.
DEFAULT_START_TIMEOUT = 600.0
LOG_TAIL = 40
ADMIN_PASSWORD = 'it-admin-secret'
SERVICE_PASSWORD = 'it-service-secret'
DEMO_PASSWORD = 'it-demo-secret'
# Taken at import: oslotest points tempfile at a per-test directory,
# removed when the test ends, while the services outlive the test.
TMP_DIR = tempfile.gettempdir()
T = typing.TypeVar('T')

KEYSTONE_CONF = """\
[DEFAULT]
debug = False
[database]
connection = sqlite:///{dir}/keystone.db
[token]
provider = fernet
[fernet_tokens]
key_repository = {dir}/fernet-keys
[fernet_receipts]
key_repository = {dir}/fernet-keys
[credential]
key_repository = {dir}/credential-keys
[identity]
# bcrypt's minimum: every password check costs milliseconds, not 0.3 s.
password_hash_rounds = 4
"""

AUTHTOKEN = """\
[keystone_authtoken]
www_authenticate_uri = {keystone}/v3
auth_url = {keystone}/v3
auth_type = password
username = {user}
password = {password}
project_name = service
user_domain_name = Default
project_domain_name = Default
region_name = RegionOne
interface = public
"""

PLACEMENT_CONF = """\
[DEFAULT]
debug = False
[api]
auth_strategy = keystone
[placement_database]
connection = sqlite:///{dir}/placement.db
sync_on_startup = True
""" + AUTHTOKEN

NOVA_CONF = """\
[DEFAULT]
debug = False
host = nova-mig-integration
transport_url = fake://
state_path = {dir}
[wsgi]
api_paste_config = {dir}/api-paste.ini
[api]
auth_strategy = keystone
[api_database]
connection = sqlite:///{dir}/nova_api.db
[database]
connection = sqlite:///{dir}/nova.db
[oslo_concurrency]
lock_path = {dir}/lock
[oslo_policy]
enforce_scope = True
enforce_new_defaults = True
""" + AUTHTOKEN


class ServiceError(Exception):
    """A service did not set up or start; the message has its log tail."""


def start_timeout() -> float:
    """Seconds a service may take to set up and answer.

    :data:`START_TIMEOUT_ENV` when set, else :data:`DEFAULT_START_TIMEOUT`.
    """
    value = os.environ.get(START_TIMEOUT_ENV, '')
    if not value:
        return DEFAULT_START_TIMEOUT
    try:
        timeout = float(value)
    except ValueError:
        timeout = 0.0
    if timeout <= 0:
        raise ServiceError('%s=%s is not a positive number of seconds'
                           % (START_TIMEOUT_ENV, value))
    return timeout


def missing_packages() -> list[str]:
    """Distributions whose modules the integration tier cannot import."""
    return sorted(dist for module, dist in REQUIRED.items()
                  if importlib.util.find_spec(module) is None)


def nova_api_paste() -> str:
    """Path of the ``etc/nova/api-paste.ini`` the nova wheel installs."""
    for f in importlib.metadata.distribution('nova').files or ():
        if str(f).replace('\\', '/').endswith('etc/nova/api-paste.ini'):
            path = os.path.abspath(str(f.locate()))
            if os.path.exists(path):
                return path
    for prefix in (sys.prefix, '/usr/local', '/usr'):
        path = os.path.join(prefix, 'etc', 'nova', 'api-paste.ini')
        if os.path.exists(path):
            return path
    raise ServiceError('api-paste.ini of the nova package not found')


def tail(path: str, lines: int = LOG_TAIL) -> str:
    try:
        with open(path, errors='replace') as f:
            return ''.join(f.readlines()[-lines:])
    except OSError as e:
        return '(no log: %s)' % e


def _script(name: str) -> str:
    """A console script of this virtual environment, else from PATH."""
    path = os.path.join(os.path.dirname(sys.executable), name)
    if os.path.exists(path):
        return path
    found = shutil.which(name)
    if not found:
        raise ServiceError('%s not found next to %s nor on PATH'
                           % (name, sys.executable))
    return found


class Service:
    """One WSGI service process serving an inherited loopback socket."""

    def __init__(self, name: str, directory: str, log_dir: str,
                 path: str = ''):
        self.name = name
        self.directory = directory
        self.log_path = os.path.join(log_dir, name + '.log')
        self.sock = socket.socket()
        self.sock.bind(('127.0.0.1', 0))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]
        self.root = 'http://127.0.0.1:%d' % self.port
        self.url = self.root + path
        self.process: subprocess.Popen | None = None
        self.started_in = 0.0
        os.makedirs(directory, exist_ok=True)

    def write(self, filename: str, text: str) -> str:
        path = os.path.join(self.directory, filename)
        with open(path, 'w') as f:
            f.write(text)
        return path

    def manage(self, *argv: str) -> None:
        """Run a set-up command, its output appended to the log."""
        with open(self.log_path, 'a') as log:
            log.write('$ %s\n' % ' '.join(argv))
            log.flush()
            begin = time.monotonic()
            rc = subprocess.call(argv, stdout=log, stderr=subprocess.STDOUT,
                                 stdin=subprocess.DEVNULL, cwd=self.directory,
                                 env=child_env({}))
            log.write('# exit %d after %.1fs\n'
                      % (rc, time.monotonic() - begin))
        if rc:
            raise ServiceError('%s: "%s" failed (exit %d); log %s:\n%s'
                               % (self.name, ' '.join(argv[:3]), rc,
                                  self.log_path, tail(self.log_path)))

    def spawn(self, env: dict[str, str]) -> None:
        fd = self.sock.fileno()
        with open(self.log_path, 'a') as log:
            self.process = subprocess.Popen(
                [sys.executable, '-m', 'tests.integration.serve', self.name,
                 str(fd)],
                stdout=log, stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL, cwd=REPO, env=child_env(env),
                pass_fds=(fd,))

    def wait(self, deadline: float) -> None:
        """Wait until ``GET /`` answers below 500."""
        while True:
            proc = self.process
            if proc is None or proc.poll() is not None:
                code = None if proc is None else proc.returncode
                raise ServiceError('%s exited (%s) before answering; log %s:'
                                   '\n%s' % (self.name, code, self.log_path,
                                             tail(self.log_path)))
            try:
                with urllib.request.urlopen(self.root + '/', timeout=5):
                    return
            except urllib.error.HTTPError as e:
                if e.code < 500:
                    return
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise ServiceError('%s did not answer on %s within %.0fs '
                                   '(raise %s); log %s:\n%s'
                                   % (self.name, self.root,
                                      start_timeout(), START_TIMEOUT_ENV,
                                      self.log_path, tail(self.log_path)))
            time.sleep(0.1)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.sock.close()


def child_env(extra: dict[str, str]) -> dict[str, str]:
    """The environment of a child process.

    No OS_* or NOVA_MIG_* variable, the repository on PYTHONPATH, then
    ``extra``.
    """
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(('OS_', 'NOVA_MIG_'))}
    env['PYTHONPATH'] = os.pathsep.join(
        p for p in (REPO, env.get('PYTHONPATH')) if p)
    env.update(extra)
    return env


class OpenStackServices:
    """Keystone, Placement and Nova API with SQLite under one directory.

    :param directory: where configuration, databases, keys and logs go;
        a fresh temporary directory when None (removed by :meth:`stop`).
    """

    def __init__(self, directory: str | None = None):
        self._own_dir = directory is None
        self.directory = directory or tempfile.mkdtemp(
            prefix='nova-mig-os-', dir=TMP_DIR)
        self.log_dir = os.path.join(self.directory, 'logs')
        os.makedirs(self.log_dir, exist_ok=True)
        self.keystone = Service('keystone',
                                os.path.join(self.directory, 'keystone'),
                                self.log_dir, '/v3')
        self.placement = Service('placement',
                                 os.path.join(self.directory, 'placement'),
                                 self.log_dir)
        self.nova = Service('nova', os.path.join(self.directory, 'nova'),
                            self.log_dir, '/v2.1')
        self.services = (self.keystone, self.placement, self.nova)
        self.timings: dict[str, float] = {}

    # -- credentials ----------------------------------------------------------
    def auth(self, user: str = 'admin', password: str = ADMIN_PASSWORD,
             project: str = 'admin') -> dict[str, str]:
        """keystoneauth password options of one of the users."""
        return {'auth_url': self.keystone.url, 'username': user,
                'password': password, 'project_name': project,
                'user_domain_name': DOMAIN, 'project_domain_name': DOMAIN}

    def session(self, **kw) -> ks_session.Session:
        return ks_session.Session(auth=v3.Password(**self.auth(**kw)),
                                  timeout=30)

    def placement_section(self, password: str = SERVICE_PASSWORD,
                          **extra: str) -> str:
        """A ``[placement]`` section like nova.conf's, as user nova."""
        opts = {'auth_type': 'password', 'auth_url': self.keystone.url,
                'username': 'nova', 'password': password,
                'project_name': 'service', 'user_domain_name': DOMAIN,
                'project_domain_name': DOMAIN, 'region_name': REGION,
                'valid_interfaces': 'public'}
        opts.update(extra)
        return '[placement]\n' + ''.join('%s = %s\n' % kv
                                         for kv in opts.items())

    # -- start ----------------------------------------------------------------
    def _configure(self) -> None:
        ks = self.keystone
        ks.write('keystone.conf', KEYSTONE_CONF.format(dir=ks.directory))
        self.placement.write('placement.conf', PLACEMENT_CONF.format(
            dir=self.placement.directory, keystone=ks.root,
            user='placement', password=SERVICE_PASSWORD))
        nova = self.nova
        nova.write('nova.conf', NOVA_CONF.format(
            dir=nova.directory, keystone=ks.root, user='nova',
            password=SERVICE_PASSWORD))
        shutil.copy(nova_api_paste(),
                    os.path.join(nova.directory, 'api-paste.ini'))

    def _start_keystone(self) -> None:
        ks = self.keystone
        begin = time.monotonic()
        conf = os.path.join(ks.directory, 'keystone.conf')
        manage = [_script('keystone-manage'), '--config-file', conf]
        user = pwd.getpwuid(os.getuid()).pw_name
        group = grp.getgrgid(os.getgid()).gr_name
        ks.manage(*manage, 'db_sync')
        for what in ('fernet_setup', 'credential_setup'):
            ks.manage(*manage, what, '--keystone-user', user,
                      '--keystone-group', group)
        ks.manage(*manage, 'bootstrap',
                  '--bootstrap-password', ADMIN_PASSWORD,
                  '--bootstrap-public-url', ks.url,
                  '--bootstrap-region-id', REGION)
        ks.spawn({'OS_KEYSTONE_CONFIG_FILES': conf})
        ks.wait(begin + start_timeout())
        self._register()
        self.timings['keystone'] = time.monotonic() - begin

    def _start_nova(self) -> None:
        nova = self.nova
        begin = time.monotonic()
        manage = [_script('nova-manage'), '--config-file',
                  os.path.join(nova.directory, 'nova.conf')]
        nova.manage(*manage, 'api_db', 'sync')
        nova.manage(*manage, 'cell_v2', 'map_cell0', '--database_connection',
                    'sqlite:///%s/nova_cell0.db' % nova.directory)
        nova.manage(*manage, 'db', 'sync')
        nova.spawn({'OS_NOVA_CONFIG_DIR': nova.directory})
        nova.wait(begin + start_timeout())
        self.timings['nova'] = time.monotonic() - begin

    def _start_placement(self) -> None:
        begin = time.monotonic()
        self.placement.spawn(
            {'OS_PLACEMENT_CONFIG_DIR': self.placement.directory})
        self.placement.wait(begin + start_timeout())
        self.timings['placement'] = time.monotonic() - begin

    def _register(self) -> None:
        """Catalog entries, the service project and users, a demo user."""
        s = self.session()
        ks = self.keystone.url

        def post(path: str, key: str, body: dict) -> str:
            resp = s.post(ks + path, json={key: body})
            return resp.json()[key]['id']

        roles = {r['name']: r['id'] for r in
                 s.get(ks + '/roles').json()['roles']}
        for stype, name, url in (('placement', 'placement',
                                  self.placement.url),
                                 ('compute', 'nova', self.nova.url)):
            sid = post('/services', 'service', {'type': stype, 'name': name})
            # nova.conf's [placement] usually asks for the internal one
            # (doc/source/install.rst): both, at the same address.
            for interface in ('public', 'internal'):
                post('/endpoints', 'endpoint',
                     {'service_id': sid, 'interface': interface, 'url': url,
                      'region_id': REGION})
        for project, users, role in (
                ('service', (('nova', SERVICE_PASSWORD),
                             ('placement', SERVICE_PASSWORD)), 'admin'),
                ('demo', (('demo', DEMO_PASSWORD),), 'member')):
            pid = post('/projects', 'project',
                       {'name': project, 'domain_id': 'default'})
            for user, password in users:
                uid = post('/users', 'user',
                           {'name': user, 'password': password,
                            'domain_id': 'default',
                            'default_project_id': pid})
                s.put(ks + '/projects/%s/users/%s/roles/%s'
                      % (pid, uid, roles[role]))

    def start(self) -> 'OpenStackServices':
        """Set up and start the three services; wait for them to answer.

        Keystone's and Nova's database set-up run side by side while
        Placement (which syncs its database itself) starts.

        :raises: :class:`ServiceError` with the failing service's log tail.
        """
        begin = time.monotonic()
        try:
            self._configure()
            with concurrent.futures.ThreadPoolExecutor(3) as pool:
                futures = [pool.submit(f) for f in (
                    self._start_keystone, self._start_placement,
                    self._start_nova)]
                for future in futures:
                    future.result()
        except BaseException:
            self.stop()
            raise
        self.timings['total'] = time.monotonic() - begin
        return self

    def stop(self) -> None:
        for service in self.services:
            service.stop()
        if self._own_dir and not os.environ.get('NOVA_MIG_KEEP_SERVICES'):
            shutil.rmtree(self.directory, ignore_errors=True)

    def env(self) -> dict[str, str]:
        """OS_* variables for the openstack client, as admin."""
        return {'OS_AUTH_URL': self.keystone.url, 'OS_USERNAME': 'admin',
                'OS_PASSWORD': ADMIN_PASSWORD, 'OS_PROJECT_NAME': 'admin',
                'OS_USER_DOMAIN_NAME': DOMAIN,
                'OS_PROJECT_DOMAIN_NAME': DOMAIN, 'OS_REGION_NAME': REGION,
                'OS_IDENTITY_API_VERSION': '3', 'OS_INTERFACE': 'public'}


_SHARED: OpenStackServices | None = None
_SHARED_ERROR: ServiceError | None = None


class ServicesUnavailable(ServiceError):
    """The services failed to start earlier in this test run."""


def untimed(func: typing.Callable[..., T], *args: typing.Any) -> T:
    """Call ``func`` outside the running test's time limit.

    oslotest bounds each test with ``OS_TEST_TIMEOUT`` through
    ``SIGALRM``; starting the services (or building the production venv)
    has its own limit instead, so the alarm is paused meanwhile and
    re-armed with the time the test had left.
    """
    remaining = signal.alarm(0)
    try:
        return func(*args)
    finally:
        if remaining:
            signal.alarm(remaining)


def _start_untimed() -> OpenStackServices:
    return untimed(OpenStackServices().start)


def shared() -> OpenStackServices:
    """The services of this test run, started on first use.

    Every integration and production-install test runs in one stestr
    worker (``group_regex`` in ``.stestr.conf``), so the services start
    once per run and stop at exit. A failed start raises its
    :class:`ServiceError`, with the failing service's log, once; the tests
    after it fail at once with :class:`ServicesUnavailable`, one line
    naming the first failure, instead of repeating the log.
    """
    global _SHARED, _SHARED_ERROR
    if _SHARED_ERROR is not None:
        first = str(_SHARED_ERROR).splitlines()[0]
        raise ServicesUnavailable(
            'the services failed to start earlier in this run (the first '
            'failing test shows the log): %s' % first)
    if _SHARED is None:
        try:
            _SHARED = _start_untimed()
        except ServiceError as e:
            _SHARED_ERROR = e
            raise
        atexit.register(_SHARED.stop)
    return _SHARED


class ServicesFixture(fixtures.Fixture):
    """Give a test the process's Keystone, Placement and Nova API.

    Skips the test, naming the distributions to install, when one of the
    services is not installed.
    """

    def setUp(self):
        # Checked before Fixture.setUp, which would turn the skip raised
        # by _setUp into a SetupError.
        missing = missing_packages()
        if missing:
            raise unittest.SkipTest(
                'integration tier needs %s: pip install -r '
                'test-requirements.txt' % ', '.join(missing))
        super().setUp()

    def _setUp(self):
        self.services = shared()
