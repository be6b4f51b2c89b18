# SPDX-License-Identifier: Apache-2.0

"""Common test base classes."""

import faulthandler
import json
import os
import select
import shutil
import socket
import subprocess
import sys
import threading
from wsgiref import simple_server

import fixtures
from oslo_config import cfg
from oslo_config import fixture as config_fixture
from oslotest import base
import testtools

import nova_mig.conf

TOP_DIR = os.path.abspath(os.path.join(os.path.dirname(__file__), os.pardir))


def unprivileged_command() -> list[str]:
    """The prefix that runs a command as ``nobody`` when we are root.

    CI runs the tests as root: a test of what an unprivileged caller sees
    runs that part in a subprocess through this prefix instead of being
    skipped. Empty when we are not root.
    """
    if os.geteuid() != 0:
        return []
    if shutil.which('setpriv'):
        return ['setpriv', '--reuid=nobody', '--regid=nogroup',
                '--clear-groups']
    return ['runuser', '-u', 'nobody', '--']


def closed_port_url() -> str:
    """A loopback URL nothing listens on."""
    sock = socket.socket()
    sock.bind(('127.0.0.1', 0))
    port = sock.getsockname()[1]
    sock.close()
    return 'http://127.0.0.1:%d' % port


class _QuietHandler(simple_server.WSGIRequestHandler):
    def log_message(self, *args):
        pass


def _failing_placement(environ, start_response):
    start_response('500 Internal Server Error',
                   [('Content-Type', 'application/json')])
    return [json.dumps({'errors': [{
        'status': 500, 'title': 'Internal Server Error',
        'detail': 'The database is on fire.'}]}).encode()]


class FailingPlacement(fixtures.Fixture):
    """A loopback server answering every request like a broken Placement.

    ``url`` is its root; each answer is HTTP 500 with Placement's error
    body, detail "The database is on fire."
    """

    def _setUp(self):
        server = simple_server.make_server(
            '127.0.0.1', 0, _failing_placement, handler_class=_QuietHandler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        self.addCleanup(server.server_close)
        self.addCleanup(server.shutdown)
        self.url = 'http://127.0.0.1:%d' % server.server_port


class HangingPeer(fixtures.Fixture):
    """A loopback TCP server that accepts every connection, never answers.

    ``url`` is its root and ``connections`` the number accepted. At
    cleanup the accepting thread is woken and joined and every connection
    closed: no thread is left behind (the fault tier refuses to fork while
    another thread runs).
    """

    def _setUp(self):
        self.sock = socket.socket()
        self.sock.bind(('127.0.0.1', 0))
        self.sock.listen(64)
        self.held: list[socket.socket] = []
        self.url = 'http://127.0.0.1:%d' % self.sock.getsockname()[1]
        thread = threading.Thread(target=self._accept, name='hanging-peer',
                                  daemon=True)
        thread.start()
        self.addCleanup(self._close, thread)

    def _accept(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.held.append(conn)

    @property
    def connections(self) -> int:
        return len(self.held)

    def _close(self, thread: threading.Thread) -> None:
        # close() alone does not wake a thread blocked in accept() on
        # Linux; shutdown() does.
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.sock.close()
        thread.join(10)
        for conn in self.held:
            conn.close()


class PlacementProcess(fixtures.Fixture):
    """The embedded Placement in a process of its own; ``url`` is its root.

    Its database is under ``state_dir/placement`` (as for
    ``EmbeddedPlacement(state_dir)``). A test that forks uses this instead
    of an in-process server: a fork while the server's thread holds a lock
    (a module import, a buffered stream, the database pool) leaves that
    lock held for good in the child, which then hangs. So does a test
    whose in-process commands should not share this process's logging,
    configuration and database engine with the server, as a cloud's
    Placement does not.
    """

    #: Seconds the process has to print its URL.
    START_LIMIT = 60

    def __init__(self, state_dir: str) -> None:
        super().__init__()
        self.state_dir = state_dir
        self.url = ''

    def _setUp(self):
        os.makedirs(self.state_dir, exist_ok=True)
        log = open(os.path.join(self.state_dir, 'placement-process.log'),
                   'w')
        self.addCleanup(log.close)
        proc = subprocess.Popen(
            [sys.executable, '-m', 'nova_mig.simulator.embedded_placement',
             '--state-dir', self.state_dir], stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE, stderr=log, text=True, cwd=TOP_DIR,
            env=dict(os.environ, PYTHONPATH=TOP_DIR))
        self.addCleanup(self._stop, proc)
        assert proc.stdout is not None
        ready, _, _ = select.select([proc.stdout], [], [], self.START_LIMIT)
        line = proc.stdout.readline().strip() if ready else ''
        if not line.startswith('http://'):
            raise AssertionError(
                'the embedded Placement process printed no URL within %d s '
                '(exit status %s); its log is %s'
                % (self.START_LIMIT, proc.poll(), log.name))
        self.url = line

    @staticmethod
    def _stop(proc: subprocess.Popen) -> None:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        if proc.stdout is not None:
            proc.stdout.close()

    def client(self):
        from nova_mig.placement import api_client
        return api_client.PlacementClient.for_endpoint(self.url)


class _DumpingTimeout(fixtures.Timeout):
    """fixtures' gentle timeout that first writes every thread's stack.

    The test's own traceback shows where its thread waited; what it
    waited for is often another thread (a server's), shown here, on the
    test process's real stderr (the run's output, not the test's
    captured one).
    """

    def __init__(self, seconds: int, test_id: str) -> None:
        super().__init__(seconds, gentle=True)
        self.test_id = test_id

    def signal_handler(self, signum, frame):
        stream = sys.__stderr__
        if stream is not None:
            stream.write('\n%s: no end after OS_TEST_TIMEOUT=%d s; every '
                         'thread:\n' % (self.test_id, self.timeout_secs))
            stream.flush()
            faulthandler.dump_traceback(file=stream, all_threads=True)
        raise fixtures.TimeoutException()


def bound_test(test: testtools.TestCase) -> None:
    """Bound ``test`` by ``OS_TEST_TIMEOUT`` seconds (none when unset)."""
    try:
        seconds = int(os.environ.get('OS_TEST_TIMEOUT') or 0)
    except ValueError:
        seconds = 0
    if seconds > 0:
        test.useFixture(_DumpingTimeout(seconds, test.id()))


class TimedTestCase(testtools.TestCase):
    """A plain testtools test case, bounded by ``OS_TEST_TIMEOUT``.

    For the tests that need none of :class:`TestCase`'s fixtures: a test
    that hangs fails with its traceback once the time is up, like every
    oslotest test, instead of holding the whole run.
    """

    def setUp(self):
        super().setUp()
        bound_test(self)


class TestCase(base.BaseTestCase):
    """Base test case: a private ConfigOpts with every nova-mig option.

    ``self.conf`` is never the global ``cfg.CONF``, so tests cannot leak
    configuration into each other. ``self.tmpdir`` is a fresh directory, used
    as ``[host]state_dir``.
    """

    def _set_timeout(self):
        # oslotest's hook: its timeout, writing every thread's stack first.
        bound_test(self)

    def setUp(self):
        super().setUp()
        conf = cfg.ConfigOpts()
        nova_mig.conf.register_opts(conf)
        self.conf_fixture = self.useFixture(config_fixture.Config(conf))
        self.conf = conf
        self.conf([], project='nova-mig')
        self.tmpdir = self.useFixture(fixtures.TempDir()).path
        self.flags(state_dir=self.tmpdir, group='host')
        # Tests without a [placement] of their own use the embedded one,
        # chosen explicitly as the demo does.
        self.flags(embedded=True, group='placement_sync')

    def read_conf(self, *paths: str, cloud: bool = True) -> cfg.ConfigOpts:
        """``self.conf`` read from ``paths`` the way the command line does.

        :func:`nova_mig.cli.app.load_conf`: the options registered (with
        ``cloud``, [placement]'s keystoneauth ones) before the files are
        parsed, then the section ``[placement]auth_section`` names, then
        every value checked. A test of how a file is read uses this, never
        its own order on ``self.conf``; :meth:`flags` then overrides on
        the configuration read.
        """
        from nova_mig.cli import app
        conf, _ = app.load_conf(list(paths), [], cloud=cloud)
        self.conf_fixture = self.useFixture(config_fixture.Config(conf))
        self.conf = conf
        return conf

    def flags(self, group=None, **kw):
        """Override options for this test only."""
        self.conf_fixture.config(group=group, **kw)

    def run_unprivileged(self, code: str, *argv: str) -> str:
        """Run Python ``code`` as a user without root; return its stdout.

        As root (as in CI) the code runs as ``nobody`` (see
        :func:`unprivileged_command`); ``self.tmpdir`` and the temporary
        directories above it are made readable for it. ``argv`` is
        ``sys.argv[1:]`` of the code.
        """
        path = self.tmpdir
        # mkdtemp makes 0700 directories (the nested ones of oslotest's
        # TMPDIR too): open the way down to self.tmpdir.
        while not os.stat(path).st_mode & 0o001:
            os.chmod(path, os.stat(path).st_mode | 0o055)
            path = os.path.dirname(path)
        result = subprocess.run(
            unprivileged_command() + [sys.executable, '-c', code] +
            list(argv), capture_output=True, text=True, cwd=TOP_DIR,
            env=dict(os.environ, PYTHONPATH=TOP_DIR))
        if result.returncode:
            self.fail('unprivileged run failed (%d): %s'
                      % (result.returncode, result.stderr))
        return result.stdout
