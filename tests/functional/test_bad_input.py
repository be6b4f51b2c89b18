# SPDX-License-Identifier: Apache-2.0

"""Bad input, table-driven: one line naming file, key and reason; no change.

Every case runs one ``nova-mig`` command against the same materialised
simulated host with one malformed input (a host file, layout, mig-parted
file, configuration file, state file or server answer) and checks that the
command exits non-zero, prints exactly one line ``nova-mig: error: ...``
holding the expected text, no traceback, and that not one file under the
test's directory changed.
"""

import hashlib
import io
import json
import logging
import os
import shutil
import stat
import tempfile
import threading
from wsgiref import simple_server

from nova_mig.cli import app
from nova_mig import lock
from nova_mig.placement import ledger
from nova_mig.reaper import queue as queue_mod
from nova_mig.reaper import reap_journal
from tests import base as test_base
from tests.functional import base
from tests.functional import hostile

A100 = base.host_file('a100-mixed.yaml')
with open(A100, encoding='utf-8') as _stream:
    A100_TEXT = _stream.read()
MDEV1 = '5b2f9c1e-8a43-4c6e-9d1f-2a7b3c4d5e01'
LAYOUT = os.path.join(base.REPO, 'etc', 'nova-mig', 'layouts',
                      'a100-balanced.yaml')
DEEP = '[' * 40 + ']' * 40
BIG = 'version: 1\n' + '#' * (4 * 1024 * 1024) + '\n'


def _host(**changes: str) -> str:
    """The A100 example host with text replaced (old=new pairs)."""
    text = A100_TEXT
    for old, new in changes.values():
        assert old in text, old
        text = text.replace(old, new, 1)
    return text


def _gpu_host(gpu: str) -> str:
    return ('version: 1\nhostname: h\ndevice_mode: mdev\nvgpu_manager: '
            'true\ngpus:\n  - %s\n' % gpu)


def _layout(gpu: str) -> str:
    return 'version: 1\ngpus:\n  - %s\n' % gpu


def _mp(entry: str) -> str:
    return 'version: v1\nmig-configs:\n  a:\n    - %s\n' % entry


class Case:
    """One malformed input and what ``nova-mig`` must say about it.

    ``files`` are written into the case's directory ``{d}`` (the names may
    start with ``state/`` to land in the shared state directory); ``{d}``
    in ``argv``, ``conf`` and the expected text stands for that directory.
    """

    def __init__(self, name: str, argv: list[str], expected: str,
                 files: dict[str, str | bytes] | None = None,
                 conf: str = '', host: str | None = None,
                 server: bytes | None = None):
        self.name, self.argv, self.expected = name, argv, expected
        self.files, self.conf, self.host = files or {}, conf, host
        self.server = server


def _host_case(name: str, content: str | bytes, expected: str) -> Case:
    return Case(name, ['discover'], '{d}/h.yaml: ' + expected,
                files={'h.yaml': content}, host='{d}/h.yaml')


def _layout_case(name: str, content: str | bytes, expected: str) -> Case:
    return Case(name, ['layout', 'plan', '{d}/l.yaml'],
                '{d}/l.yaml: ' + expected, files={'l.yaml': content})


def _mp_case(name: str, content: str | bytes, expected: str,
             *extra: str) -> Case:
    return Case(name, ['layout', 'import-mig-parted', '{d}/m.yaml'] +
                list(extra), '{d}/m.yaml: ' + expected,
                files={'m.yaml': content})


def _conf_case(name: str, extra: str | bytes, expected: str,
               argv: tuple[str, ...] = ('discover',)) -> Case:
    return Case(name, list(argv), expected, conf=extra)


def _owned_case(name: str, content: str, expected: str) -> Case:
    return Case(name, ['layout', 'plan', LAYOUT],
                '{state}/owned-devices.json: ' + expected,
                files={'state/owned-devices.json': content})


CASES = [
    # -- host files ---------------------------------------------------------
    _host_case('host_uuid_int', _host(u=('uuid: ' + MDEV1, 'uuid: 12345')),
               'vgpus[0].uuid: 12345 is not a lower-case UUID'),
    _host_case('host_not_utf8', b'version: 1\nhostname: \xff\n',
               'line 2 column 11: not valid UTF-8 (byte 0xff)'),
    _host_case('host_deep', 'version: 1\nhostname: h\ngpus: ' + DEEP,
               'line 3 column 38: nested deeper than 32 levels'),
    _host_case('host_bad_yaml', 'version: 1\nhostname: [\n',
               'line 3 column 1: not valid YAML: did not find expected '
               'node content'),
    _host_case('host_vf_past_bus_ff', _gpu_host(
        '{model: A100-PCIE-80GB, pci_address: "0000:ff:1f.0"}'),
        'gpus[0].pci_address: the 20 VFs of 0000:ff:1f.0 would lie past '
        'bus ff; choose a lower bus'),
    _host_case('host_top_list', '- 1\n',
               'top level: expected a mapping, found [1]'),
    _host_case('host_version', 'version: 2\nhostname: h\n',
               'version: unsupported version 2; this nova-mig reads '
               'version 1'),
    _host_case('host_mixed_keys', 'version: 1\nhostname: h\n1: 2\n',
               'top level: unknown key(s) 1; allowed: '),
    _host_case('host_sriov_vfs', _gpu_host(
        '{model: A100-PCIE-80GB, pci_address: "0000:41:00.0", '
        'sriov_vfs: 999}'),
        'gpus[0].sriov_vfs: expected an integer from 0 to 20, got 999'),
    _host_case('host_bad_pci', _gpu_host(
        '{model: A100-PCIE-80GB, pci_address: "41:00.0"}'),
        "gpus[0].pci_address: '41:00.0' is not a lower-case PCI address"),
    _host_case('host_unknown_model', _gpu_host(
        '{model: Z999, pci_address: "0000:41:00.0"}'),
        "unknown GPU model 'Z999'"),
    _host_case('host_too_large', BIG, 'larger than 4194304 bytes, the most '
               'nova-mig reads from this file'),
    Case('host_is_directory', ['discover'], '{d}: Is a directory',
         host='{d}'),
    Case('host_missing', ['discover'],
         '{d}/none.yaml: No such file or directory', host='{d}/none.yaml'),
    # -- layouts ------------------------------------------------------------
    _layout_case('layout_not_utf8', b'version: 1\ngpus: [\xff]\n',
                 'line 2 column 8: not valid UTF-8 (byte 0xff)'),
    _layout_case('layout_deep', 'version: 1\ngpus: ' + DEEP,
                 'line 2 column 38: nested deeper than 32 levels'),
    _layout_case('layout_mixed_keys', _layout('{select: all, 1: 2, '
                                              'null: 3}'),
                 'gpus[0]: unknown key(s) 1, None; allowed: '),
    _layout_case('layout_count_huge', _layout(
        '{gpu_instances: [{profile: 1g.10gb, count: 30000000}]}'),
        'gpus[0].gpu_instances[0].count: expected an integer from 1 to 7, '
        'found 30000000'),
    _layout_case('layout_count_sum', _layout(
        '{gpu_instances: [{profile: 1g.10gb, count: 4}, '
        '{profile: 1g.10gb, count: 4}]}'),
        'gpus[0].gpu_instances: 8 GPU instances asked; no GPU holds more '
        'than 7'),
    _layout_case('layout_count_digits', _layout(
        '{gpu_instances: [{profile: 1g.10gb, count: %s}]}' % ('9' * 5000)),
        'line 3 column 48: an integer of 5000 digits; at most 20 are '
        'accepted'),
    _layout_case('layout_count_bool', _layout(
        '{gpu_instances: [{profile: 1g.10gb, count: true}]}'),
        'gpus[0].gpu_instances[0].count: expected an integer from 1 to 7, '
        'found True'),
    _layout_case('layout_eight_instances', _layout(
        '{gpu_instances: [' + ', '.join(['1g.10gb'] * 8) + ']}'),
        'gpus[0].gpu_instances: expected a list of at most 7 profiles'),
    _layout_case('layout_bad_yaml', 'version: 1\ngpus: [\n',
                 'line 3 column 1: not valid YAML: did not find expected '
                 'node content'),
    _layout_case('layout_version', 'version: 2\ngpus: [all]\n',
                 'version: unsupported version 2'),
    _layout_case('layout_no_gpus', 'version: 1\ngpus: []\n',
                 'gpus: expected a non-empty list of GPUs'),
    _layout_case('layout_top_list', '- 1\n',
                 'top level: expected a mapping, found [1]'),
    _layout_case('layout_vgpu_uuid_int', _layout(
        '{gpu_instances: [{profile: 1g.10gb, vgpu: {uuid: 12345}}]}'),
        'gpus[0].gpu_instances[0].vgpu.uuid: not a UUID: 12345'),
    _layout_case('layout_placement', _layout(
        '{gpu_instances: [{profile: 1g.10gb, placement: 9}]}'),
        'gpus[0].gpu_instances[0].placement: expected an integer from 0 '
        'to 7, found 9'),
    _layout_case('layout_sriov_vfs', _layout('{sriov_vfs: 100000}'),
                 'gpus[0].sriov_vfs: expected "all", null or an integer '
                 'from 0 to 256, found 100000'),
    _layout_case('layout_time_sliced_count', _layout(
        '{mig: disabled, time_sliced: {type: T4-4C, count: 1000000}}'),
        'gpus[0].time_sliced.count: expected an integer from 0 to 64, '
        'found 1000000'),
    _layout_case('layout_bad_pci', _layout('{select: {pci_address: '
                                           'x41}}'),
                 "gpus[0].select.pci_address: not a PCI address "
                 "(0000:41:00.0): 'x41'"),
    _layout_case('layout_bad_gpu_uuid', _layout('{select: {uuid: '
                                                'GPU-xyz}}'),
                 "gpus[0].select.uuid: not a GPU UUID (GPU-...): "
                 "'GPU-xyz'"),
    _layout_case('layout_mig_maybe', _layout('{mig: maybe}'),
                 "gpus[0].mig: expected one of enabled, disabled, found "
                 "'maybe'"),
    _layout_case('layout_too_large', BIG,
                 'file: larger than 4194304 bytes'),
    Case('layout_directory', ['layout', 'plan', '{d}'],
         '{d}: file: Is a directory'),
    Case('layout_missing', ['layout', 'plan', '{d}/none.yaml'],
         '{d}/none.yaml: file: No such file or directory'),
    # -- mig-parted files ---------------------------------------------------
    _mp_case('mp_devices_int', _mp('{devices: 5, mig-enabled: true}'),
             'a[0]: "devices" must be "all" or a list of GPU indexes'),
    _mp_case('mp_count_huge', _mp(
        '{devices: all, mig-enabled: true, mig-devices: '
        '{1g.10gb: 1000000000}}'),
        'a[0]: count of 1g.10gb must be an integer from 0 to 7'),
    _mp_case('mp_count_sum', _mp(
        '{devices: all, mig-enabled: true, mig-devices: '
        '{1g.10gb: 4, 2g.20gb: 4}}'),
        'a[0].mig-devices: 8 GPU instances asked; no GPU holds more '
        'than 7'),
    _mp_case('mp_profile_int', _mp(
        '{devices: all, mig-enabled: true, mig-devices: {2: 1}}'),
        'a[0].mig-devices: 2 is not a MIG profile name (1g.10gb)'),
    _mp_case('mp_not_utf8', b'version: v1\nmig-configs: {a: [\xfe]}\n',
             'line 2 column 19: not valid UTF-8 (byte 0xfe)'),
    _mp_case('mp_deep', 'version: v1\nmig-configs: ' + DEEP,
             'line 2 column 45: nested deeper than 32 levels'),
    _mp_case('mp_version', 'version: v2\nmig-configs: {}\n',
             'expected "version: v1"'),
    _mp_case('mp_no_configs', 'version: v1\n', 'no "mig-configs"'),
    _mp_case('mp_mixed_labels', 'version: v1\nmig-configs: {1: [], '
             'a: []}\n', 'several configs (1, a); choose one with --label'),
    _mp_case('mp_no_label', _mp('{devices: all, mig-enabled: false}'),
             "no config 'b'; the file has a", '--label', 'b'),
    _mp_case('mp_empty_config', 'version: v1\nmig-configs: {a: []}\n',
             "config 'a' must be a non-empty list"),
    _mp_case('mp_enabled_text', _mp('{devices: all, mig-enabled: yes2}'),
             'a[0]: "mig-enabled" must be true or false'),
    Case('mp_directory', ['layout', 'import-mig-parted', '{d}'],
         '{d}: Is a directory'),
    # -- configuration ------------------------------------------------------
    _conf_case('conf_not_utf8', b'[gpu]\nfoo = \xff\n',
               'Invalid configuration: {d}/c.conf: line 8 column 7: not '
               'valid UTF-8 (byte 0xff)'),
    _conf_case('conf_int', '[reaper]\ngrace_period = abc\n',
               "Invalid configuration: {d}/c.conf: [reaper]grace_period: "
               "invalid literal for int() with base 10: 'abc'",
               argv=('reap',)),
    _conf_case('conf_minimum', '[placement_sync]\nmax_attempts = -5\n',
               'Invalid configuration: {d}/c.conf: '
               '[placement_sync]max_attempts: Should be greater than or '
               'equal to 1'),
    _conf_case('conf_bool', '[retype]\nallow_restart = perhaps\n',
               'Invalid configuration: {d}/c.conf: [retype]allow_restart: '
               'Unexpected boolean value'),
    _conf_case('conf_default_bool', '[DEFAULT]\ndebug = maybe\n',
               'Invalid configuration: [DEFAULT]: argument --debug: Invalid '
               'Boolean value: maybe'),
    _conf_case('conf_backend', '[gpu]\nbackend = nosuch\n',
               "GPU backend 'nosuch' is not installed"),
    _conf_case('conf_parse', '[gpu\n', 'Invalid configuration: '),
    _conf_case('conf_state_dir_file', '[host]\nstate_dir = {d}/c.conf\n',
               'cannot create the lock directory {d}/c.conf/locks: Not a '
               'directory (check [host]state_dir)',
               argv=('layout', 'apply', LAYOUT)),
    _conf_case('conf_state_dir_unmakeable',
               '[host]\nstate_dir = {d}/c.conf/state\n',
               '{d}/c.conf/state: Not a directory'),
    Case('conf_missing', ['--config-file', '{d}/none.conf', 'discover'],
         'Invalid configuration: '),
    # -- output files -------------------------------------------------------
    Case('export_to_directory', ['layout', 'export', '-o', '{d}'],
         '{d}: cannot write: Is a directory'),
    Case('import_to_directory', ['layout', 'import-mig-parted',
                                 '{d}/m.yaml', '-o', '{d}'],
         '{d}: cannot write: Is a directory',
         files={'m.yaml': _mp('{devices: all, mig-enabled: false}')}),
    # -- state files --------------------------------------------------------
    _owned_case('owned_list', '[]\n', 'unknown format or version; nova-mig '
                'refuses this state file. Restore it from a backup, or '
                'move it aside (mv {state}/owned-devices.json '
                '{state}/owned-devices.json.bad)'),
    _owned_case('owned_devices_list', '{"version": 1, "devices": [1]}',
                'devices: expected a mapping'),
    _owned_case('owned_entry_int', '{"version": 1, "devices": {"x": 5}}',
                'devices.x: expected a mapping'),
    _owned_case('owned_not_json', '{"version": 1,',
                'line 1 column 15: not JSON: Expecting property name'),
    _owned_case('owned_version', '{"version": 7, "devices": {}}',
                'unknown format or version'),
    # -- server answers -----------------------------------------------------
    Case('placement_html_sync', ['sync'],
         'Placement GET /resource_providers?name=compute-a100-1 failed '
         'with HTTP 200: the answer is not a JSON object (text/html); is '
         '[placement]endpoint_override a Placement service?',
         conf='[placement]\nauth_type = none\nendpoint_override = {url}\n',
         server=b'<html>not Placement</html>'),
    Case('placement_wrong_shape_sync', ['sync'],
         'Placement GET /resource_providers failed with HTTP 200: the '
         'answer\'s "resource_providers" is not a list of resource '
         'providers with "uuid" and "name" text',
         conf='[placement]\nauth_type = none\nendpoint_override = {url}\n',
         server=b'{"resource_providers": ["a", "b"]}'),
    Case('placement_list_verify', ['verify'],
         'failed with HTTP 200: the answer is not a JSON object',
         conf='[placement]\nauth_type = none\nendpoint_override = {url}\n',
         server=b'[1, 2]'),
    Case('placement_closed', ['sync'],
         'Placement at {closed} is unreachable',
         conf='[placement]\nauth_type = none\n'
              'endpoint_override = {closed}\n'),
    Case('keystone_closed_reaper', ['reap', '--apply'],
         'Compute API call GET /os-services for host compute-a100-1 '
         'failed: {closed}/v3/auth/tokens: Connection refused. Check the '
         '[placement] credentials',
         conf='[placement]\nauth_type = password\nauth_url = {closed}/v3\n'
              'username = u\npassword = p\nproject_name = p\n'
              'user_domain_name = Default\nproject_domain_name = Default\n'),
]


class _Answer:
    """A loopback HTTP server answering 200 with ``body`` to everything."""

    def __init__(self, body: bytes):
        def application(environ, start_response):
            start_response('200 OK', [('Content-Type', 'text/html')])
            return [body]
        self.server = simple_server.make_server(
            '127.0.0.1', 0, application,
            handler_class=test_base._QuietHandler)
        threading.Thread(target=self.server.serve_forever,
                         daemon=True).start()
        self.url = 'http://127.0.0.1:%d' % self.server.server_port

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def _snapshot(root: str) -> dict[str, str]:
    """Each path under ``root``: a digest of its content or link target."""
    result = {}
    for directory, dirs, files in os.walk(root):
        for name in dirs + files:
            path = os.path.join(directory, name)
            key = os.path.relpath(path, root)
            if os.path.islink(path):
                result[key] = 'link:' + os.readlink(path)
            elif os.path.isdir(path):
                result[key] = 'dir'
            else:
                with open(path, 'rb') as stream:
                    result[key] = hashlib.sha256(stream.read()).hexdigest()
    return result


class BadInputTestCase(test_base.TestCase):
    """One materialised simulated host shared by every case of a process."""

    root: str = ''

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.root = tempfile.mkdtemp(prefix='nova-mig-bad-input-')
        cls.state = os.path.join(cls.root, 'state')
        conf = os.path.join(cls.root, 'ok.conf')
        cls._write_conf(conf, A100, '')
        root_logger = logging.getLogger('')
        handlers, level = list(root_logger.handlers), root_logger.level
        try:
            # Materialise the host.
            app.NovaMigApp(stdout=io.StringIO(), stderr=io.StringIO()
                           ).run(['--config-file', conf, 'discover'])
        finally:
            for handler in list(root_logger.handlers):
                root_logger.removeHandler(handler)
            for handler in handlers:
                root_logger.addHandler(handler)
            root_logger.setLevel(level)
        # The lock files, as the first locked run leaves them.
        locks = os.path.join(cls.state, 'locks')
        os.makedirs(locks)
        for name in (lock.LOCK_NAME, lock.WORKFLOW_LOCK_NAME):
            open(os.path.join(locks, lock.LOCK_PREFIX + name), 'a').close()

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.root, ignore_errors=True)
        super().tearDownClass()

    @classmethod
    def _write_conf(cls, path: str, host: str, extra: str | bytes) -> None:
        with open(path, 'wb') as stream:
            stream.write(('[gpu]\nbackend = simulated\n[host]\nstate_dir = '
                          '%s\n[simulator]\nhost_file = %s\n'
                          % (cls.state, host)).encode())
            stream.write(extra if isinstance(extra, bytes)
                         else extra.encode())

    def nova_mig(self, argv: list[str]) -> tuple[int, str, str]:
        self.useFixture(base.RootLogger())
        stdout, stderr = io.StringIO(), io.StringIO()
        try:
            rc = app.NovaMigApp(stdout=stdout, stderr=stderr).run(argv)
        except SystemExit as e:
            rc = e.code
        return rc, stdout.getvalue(), stderr.getvalue()


class TestBadInput(BadInputTestCase):

    def _run(self, case: Case) -> str:
        """Run one case; return its error line, ``{d}`` put back."""
        d = os.path.join(self.root, 'cases', case.name)
        os.makedirs(d)
        closed = test_base.closed_port_url()
        values = {'d': d, 'state': self.state, 'closed': closed}
        server = None if case.server is None else _Answer(case.server)
        if server is not None:
            values['url'] = server.url
        written: list[str] = []
        try:
            line = self._check(case, d, values, written)
            return line.replace(d, '{d}')
        finally:
            for path in written:
                os.unlink(path)
            if server is not None:
                server.close()

    def _check(self, case: Case, d: str, values: dict[str, str],
               written: list[str]) -> str:

        def fill(text):
            if isinstance(text, bytes):
                return text
            for key, value in values.items():
                text = text.replace('{%s}' % key, value)
            return text

        for name, content in case.files.items():
            path = (os.path.join(self.state, name[len('state/'):])
                    if name.startswith('state/') else os.path.join(d, name))
            with open(path, 'wb') as stream:
                stream.write(content if isinstance(content, bytes)
                             else content.encode())
            written.append(path)
        conf = os.path.join(d, 'c.conf')
        self._write_conf(conf, fill(case.host or A100), fill(case.conf))
        argv = ['--config-file', conf] + [fill(a) for a in case.argv]
        before = _snapshot(self.root)
        rc, out, err = self.nova_mig(argv)
        self.assertNotEqual(0, rc, out + err)
        self.assertNotIn('Traceback', out + err)
        lines = err.splitlines()
        self.assertEqual(1, len(lines), err)
        self.assertTrue(lines[0].startswith('nova-mig: error: '), err)
        self.assertIn(fill(case.expected), lines[0])
        after = _snapshot(self.root)
        self.assertEqual([], sorted(k for k in set(before) | set(after)
                                    if before.get(k) != after.get(k)))
        return lines[0]

    def test_cases(self):
        failed = []
        lines: dict[str, list[str]] = {}
        for case in CASES:
            try:
                lines.setdefault(self._run(case), []).append(case.name)
            except AssertionError as e:
                failed.append('%s: %s' % (case.name, str(e)[:600]))
        self.assertEqual([], failed)
        # The product tells the inputs apart: at least sixty different
        # error lines came back (a catch-all message would still pass the
        # expected-text checks of cases whose expected text is a prefix).
        # The same input refused by two commands (a directory as host file
        # and as mig-parted file) may share a line.
        self.assertGreaterEqual(len(lines), 60, sorted(lines))


class TestStateLines(BadInputTestCase):
    """Journal and queue lines of the wrong shape: skipped, with a warning.

    The sync state of the wrong shape is moved aside, as documented.
    """

    def test_sync_state_of_wrong_shape_is_moved_aside(self):
        path = os.path.join(self.root, 'sync-state.json')
        with open(path, 'w') as stream:
            stream.write('[1, 2]')
        with self.assertLogs('nova_mig.placement.ledger', 'WARNING') as logs:
            loaded = ledger.SyncState.load(path)
        self.assertEqual(set(), loaded.created_traits)
        self.assertFalse(os.path.exists(path))
        with open(path + '.bad') as stream:
            self.assertEqual('[1, 2]', stream.read())
        self.assertIn('moved it aside to %s.bad' % path, logs.output[0])

    def test_journal_intent_without_device_is_skipped(self):
        state = os.path.join(self.root, 'journal')
        os.makedirs(state)
        journal = reap_journal.Journal(state)
        with open(journal.path, 'w') as stream:
            stream.write(json.dumps({'id': 'a', 'event': 'intent'}) + '\n')
            stream.write('[1]\n')
        kept = journal.intent(MDEV1, 'mdev', '0000:41:00.4', 'nvidia-1',
                              ['orphan'])
        with self.assertLogs('nova_mig.reaper.reap_journal',
                             'WARNING') as logs:
            pending = journal.pending()
        self.assertEqual([kept], [p['id'] for p in pending])
        self.assertIn(':1: ignoring a line of the wrong shape: an intent '
                      'without "device" text', logs.output[0])
        self.assertIn(':2: ignoring a line of the wrong shape: not a JSON '
                      'object', logs.output[1])

    def test_queue_line_not_an_object_is_skipped(self):
        state = os.path.join(self.root, 'queue')
        os.makedirs(state)
        queue = queue_mod.Queue(state)
        with open(queue.path, 'w') as stream:
            stream.write('[1]\n{"mdevs": 5}\n')
            stream.write(json.dumps({'mdevs': [MDEV1.upper()]}) + '\n')
        with self.assertLogs('nova_mig.reaper.queue', 'WARNING') as logs:
            self.assertEqual({MDEV1}, queue.peek())
        self.assertEqual(2, len(logs.output))


# -- hostile inputs, each in a measured child process -----------------------
class HostileTestCase(BadInputTestCase):
    """Each case: a child ``nova-mig``, measured (see ``hostile``).

    It must exit non-zero with one line ``nova-mig: error: ...`` naming
    the file and the reason, within :data:`hostile.TIMEOUT` seconds,
    holding less than :data:`hostile.MAX_RSS_MB` MiB, and leave every path
    under the test's directory as it was (FIFOs and devices included:
    nothing is opened to compare).
    """

    def case_dir(self) -> str:
        d = tempfile.mkdtemp(dir=self.root, prefix=self.id().split('.')[-1])
        self.addCleanup(shutil.rmtree, d, True)
        return d

    def conf_file(self, d: str, host: str = A100, extra: str = '') -> str:
        path = os.path.join(d, 'c.conf')
        self._write_conf(path, host, extra)
        return path

    def state_file(self, name: str, kind: str) -> str:
        """``name`` in the shared state directory: a FIFO or /dev/zero."""
        path = os.path.join(self.state, name)
        if os.path.lexists(path):
            os.unlink(path)
        self.make(path, kind)
        self.addCleanup(_unlink, path)
        return path

    @staticmethod
    def make(path: str, kind: str) -> None:
        """A FIFO, /dev/zero's device itself (as root) or a link to it."""
        if kind == 'fifo':
            os.mkfifo(path)
        elif kind == 'zero' and os.geteuid() == 0:
            os.mknod(path, stat.S_IFCHR | 0o600, os.makedev(1, 5))
        else:
            os.symlink('/dev/zero', path)

    def assertRefusedBy(self, argv: list[str], expected: str,
                        command: list[str] | None = None,
                        prefix: str = 'nova-mig: error: ',
                        timeout: float = hostile.TIMEOUT
                        ) -> hostile.Child:
        before = hostile.snapshot(self.root)
        child = hostile.run((command or hostile.nova_mig()) + argv,
                            timeout=timeout)
        self.assertFalse(child.timed_out, 'still running after %ds: %s'
                         % (timeout, argv))
        self.assertLess(child.max_rss_mb, hostile.MAX_RSS_MB, argv)
        self.assertNotEqual(0, child.rc, child.out + child.err)
        self.assertNotIn('Traceback', child.out + child.err)
        lines = child.err.splitlines()
        self.assertEqual(1, len(lines), child.err)
        self.assertTrue(lines[0].startswith(prefix), child.err)
        self.assertIn(expected, lines[0])
        self.assertEqual(before, hostile.snapshot(self.root))
        return child


def _unlink(path: str) -> None:
    if os.path.lexists(path):
        os.unlink(path)


NOT_REGULAR = {'fifo': 'a FIFO, not a regular file; nova-mig reads only '
                       'regular files',
               'zero': 'a character device, not a regular file; nova-mig '
                       'reads only regular files',
               'link': 'a symbolic link; nova-mig reads its own files only '
                       'when they are regular files'}


class TestSpecialFiles(HostileTestCase):
    """A FIFO (a plain open would hang) or /dev/zero for every file read."""

    def each(self, check, state: bool = False):
        """``check(kind, reason)`` for a FIFO and /dev/zero.

        A state file of nova-mig's own is also refused as a symbolic link
        (to /dev/zero), and as /dev/zero's device node itself when the
        test runs as root (as in CI) and can make one.
        """
        kinds = ['fifo', 'zero']
        if state:
            kinds = ['fifo', 'link'] + (['zero'] if os.geteuid() == 0
                                        else [])
        for kind in kinds:
            with self.subTest(kind=kind):
                check(kind, NOT_REGULAR[kind])

    def test_layout(self):
        def check(kind, reason):
            d = self.case_dir()
            path = os.path.join(d, 'l.yaml')
            self.make(path, kind)
            self.assertRefusedBy(['--config-file', self.conf_file(d), 'layout',
                                  'plan', path],
                                 '%s: file: %s' % (path, reason))
        self.each(check)

    def test_mig_parted_file(self):
        def check(kind, reason):
            d = self.case_dir()
            path = os.path.join(d, 'm.yaml')
            self.make(path, kind)
            self.assertRefusedBy(['--config-file', self.conf_file(d), 'layout',
                                  'import-mig-parted', path],
                                 '%s: %s' % (path, reason))
        self.each(check)

    def test_host_file(self):
        def check(kind, reason):
            d = self.case_dir()
            path = os.path.join(d, 'h.yaml')
            self.make(path, kind)
            conf = self.conf_file(d, host=path)
            self.assertRefusedBy(['--config-file', conf, 'discover'],
                                 '%s: %s' % (path, reason))
        self.each(check)

    def test_configuration_file(self):
        def check(kind, reason):
            d = self.case_dir()
            path = os.path.join(d, 'c.conf')
            self.make(path, kind)
            self.assertRefusedBy(['--config-file', path, 'discover'],
                                 'Invalid configuration: %s: file: %s'
                                 % (path, reason))
        self.each(check)

    def test_ownership_record(self):
        def check(kind, reason):
            path = self.state_file('owned-devices.json', kind)
            self.assertRefusedBy(['--config-file',
                                  self.conf_file(self.case_dir()), 'layout',
                                  'plan', LAYOUT], '%s: %s' % (path, reason))
        self.each(check, state=True)

    def test_layout_checkpoint(self):
        def check(kind, reason):
            path = self.state_file('layout-checkpoint.json', kind)
            self.assertRefusedBy(['--config-file',
                                  self.conf_file(self.case_dir()), 'layout',
                                  'restore'], '%s: %s' % (path, reason))
        self.each(check, state=True)

    def test_reaper_journal(self):
        def check(kind, reason):
            path = self.state_file('reaper-journal.jsonl', kind)
            self.assertRefusedBy(['--config-file',
                                  self.conf_file(self.case_dir()), 'reap'],
                                 'Reaper journal %s: cannot read: %s'
                                 % (path, reason))
        self.each(check, state=True)

    def test_reaper_queue(self):
        def check(kind, reason):
            path = self.state_file('reaper-queue.jsonl', kind)
            self.assertRefusedBy(['--config-file',
                                  self.conf_file(self.case_dir()), 'reap',
                                  '--queued'],
                                 'Reaper queue %s: %s' % (path, reason))
        self.each(check, state=True)

    def test_output_file(self):
        # Never replaced by a regular file, never read to compare.
        def check(kind, reason):
            d = self.case_dir()
            path = os.path.join(d, 'out.yaml')
            self.make(path, kind)
            self.assertRefusedBy(['--config-file', self.conf_file(d),
                                  'layout', 'export', '-o', path],
                                 '%s: cannot write: %s' % (
                                     path, reason.replace('reads', 'writes')))
        self.each(check)

    def test_targets_file(self):
        def check(kind, reason):
            d = self.case_dir()
            hosts = os.path.join(d, 'hosts')
            os.mkdir(hosts)
            path = os.path.join(d, 't.yaml')
            self.make(path, kind)
            self.assertRefusedBy(['--hosts', hosts, '--targets', path],
                                 '%s: file: %s' % (path, reason),
                                 command=hostile.rebalance_plan(),
                                 prefix=path)
        self.each(check)


class TestAliasBombs(HostileTestCase):
    """About 1 KB of YAML anchors in every YAML reader: one line, no GBs."""

    EXPANDED = 'more than 500000 values once alias *lol'

    def test_layout(self):
        bomb = hostile.alias_bomb()
        for name, text in (
                ('description', 'version: 1\ndescription: %s\ngpus: '
                                '[all]\n' % bomb),
                ('select_model', _layout('{select: {model: %s}}' % bomb)),
                ('profile', _layout('{gpu_instances: [{profile: %s}]}'
                                    % bomb))):
            with self.subTest(name=name):
                self.assertLess(len(text), 1024)
                d = self.case_dir()
                path = os.path.join(d, 'l.yaml')
                with open(path, 'w') as stream:
                    stream.write(text)
                self.assertRefusedBy(['--config-file', self.conf_file(d),
                                      'layout', 'plan', path],
                                     '%s: line ' % path)
                self.assertRefusedBy(['--config-file', self.conf_file(d),
                                      'layout', 'plan', path], self.EXPANDED)

    def test_host_file_hostname(self):
        d = self.case_dir()
        path = os.path.join(d, 'h.yaml')
        with open(path, 'w') as stream:
            stream.write(_host(h=('hostname: compute-a100-1',
                                  'hostname: ' + hostile.alias_bomb())))
        self.assertRefusedBy(['--config-file', self.conf_file(d, host=path),
                              'discover'], '%s: line ' % path)

    def test_mig_parted_file(self):
        d = self.case_dir()
        path = os.path.join(d, 'm.yaml')
        with open(path, 'w') as stream:
            stream.write('version: v1\nmig-configs:\n  a: %s\n'
                         % hostile.alias_bomb())
        child = self.assertRefusedBy(['--config-file', self.conf_file(d),
                                      'layout', 'import-mig-parted', path],
                                     self.EXPANDED)
        self.assertIn(path, child.err)

    def test_targets_file(self):
        d = self.case_dir()
        hosts = os.path.join(d, 'hosts')
        os.mkdir(hosts)
        path = os.path.join(d, 't.yaml')
        with open(path, 'w') as stream:
            stream.write('version: 1\ntargets: %s\n' % hostile.alias_bomb())
        self.assertRefusedBy(['--hosts', hosts, '--targets', path],
                             self.EXPANDED, command=hostile.rebalance_plan(),
                             prefix=path)


class TestHostileDiscoverDocuments(HostileTestCase):
    """``openstack mig rebalance plan`` over hostile discover documents.

    Each bad document is left out with one line saying why; the good one
    is planned; the layout files land in --output-dir and nowhere else.
    """

    def test_bad_documents_are_left_out_and_the_rest_planned(self):
        from tests.unit.rebalance import fakes as rb_fakes
        d = self.case_dir()
        hosts, out = os.path.join(d, 'hosts'), os.path.join(d, 'out')
        os.mkdir(hosts)
        gpu = rb_fakes.gpu_doc(0, instances=rb_fakes.SEVEN_1G)
        rb_fakes.write(hosts, rb_fakes.host_doc('cn1', gpu))
        bad: dict[str, bytes] = {}
        for label, name in (('dotdot', '../../x'), ('absolute', d + '/abs'),
                            ('newline', 'h\nversion: 9')):
            bad[label] = json.dumps(rb_fakes.host_doc(name, gpu)).encode()
        huge = rb_fakes.host_doc('huge', rb_fakes.gpu_doc(0))
        huge['gpus'][0]['profiles'][0]['placements'][0]['start'] = 10 ** 15
        wrong = rb_fakes.host_doc('wrong', dict(rb_fakes.gpu_doc(0),
                                                gpu_instances='7'))
        bad.update({
            'placement': json.dumps(huge).encode(),
            'wrongtype': json.dumps(wrong).encode(),
            'deep': b'[' * 200000,
            'infinity': b'{"hostname": "inf", "gpus": [], "x": -Infinity}',
            'latin1': b'{"hostname": "caf\xe9", "gpus": []}',
            'digits': b'{"hostname": "d", "gpus": [%s]}' % (b'7' * 5000)})
        for label, content in bad.items():
            with open(os.path.join(hosts, label + '.json'), 'wb') as stream:
                stream.write(content)
        self.make(os.path.join(hosts, 'fifo.json'), 'fifo')
        self.make(os.path.join(hosts, 'zero.json'), 'zero')
        child = hostile.run(hostile.rebalance_plan() + [
            '--hosts', hosts, '--output-dir', out])
        self.assertFalse(child.timed_out)
        self.assertLess(child.max_rss_mb, hostile.MAX_RSS_MB)
        self.assertEqual(0, child.rc, child.err)
        left = {line.split(': ', 2)[1]: line.split(': unreadable: ', 1)[1]
                for line in child.err.splitlines()
                if line.startswith('left out: ')}
        self.assertEqual(sorted(list(bad) + ['fifo', 'zero']), sorted(left))
        self.assertIn("hostname: not a DNS host name", left['dotdot'])
        self.assertIn("'h\\nversion: 9'", left['newline'])
        self.assertIn('gpus[0].profiles[0].placements[0].start: expected '
                      'an integer from 0 to 7, found 1000000000000000',
                      left['placement'])
        self.assertIn('gpus[0].gpu_instances: expected a list',
                      left['wrongtype'])
        self.assertEqual('JSON: nested deeper than 32 levels', left['deep'])
        self.assertIn('-Infinity is not a JSON number', left['infinity'])
        self.assertEqual('line 1 column 18: not valid UTF-8 (byte 0xe9)',
                         left['latin1'])
        self.assertIn('an integer of 5000 digits', left['digits'])
        self.assertEqual(NOT_REGULAR['fifo'], left['fifo'])
        self.assertEqual(NOT_REGULAR['zero'], left['zero'])
        # The good host is planned; only its files, only in --output-dir.
        self.assertIn('1 GPU(s) on 1 host(s) to change', child.err)
        self.assertEqual(['cn1.yaml', 'plan.json'], sorted(os.listdir(out)))
        self.assertEqual(['hosts', 'out'], sorted(os.listdir(d)))
        self.assertFalse(os.path.exists(os.path.join(d, 'abs.yaml')))
        self.assertFalse(os.path.exists(os.path.join(
            os.path.dirname(os.path.dirname(out)), 'x.yaml')))
        with open(os.path.join(out, 'cn1.yaml')) as stream:
            self.assertEqual('# nova-mig rebalance layout of host cn1',
                             stream.readline().strip())


class TestHangingPeers(HostileTestCase):
    """A service that accepts the connection and never answers."""

    def peer(self) -> test_base.HangingPeer:
        return self.useFixture(test_base.HangingPeer())

    def test_placement(self):
        peer = self.peer()
        conf = self.conf_file(self.case_dir(), extra=(
            '[placement]\nauth_type = none\nendpoint_override = %s\n'
            'timeout = 2\n' % peer.url))
        child = self.assertRefusedBy(
            ['--config-file', conf, 'sync'],
            'Placement at %s is unreachable: timed out.' % peer.url,
            timeout=30)
        self.assertLess(child.seconds, 20)
        self.assertGreaterEqual(peer.connections, 1)

    def test_keystone(self):
        peer = self.peer()
        conf = self.conf_file(self.case_dir(), extra=(
            '[placement]\nauth_type = password\nauth_url = %s/v3\n'
            'username = u\npassword = p\nproject_name = p\n'
            'user_domain_name = Default\nproject_domain_name = Default\n'
            'timeout = 2\n' % peer.url))
        child = self.assertRefusedBy(['--config-file', conf, 'sync'],
                                     peer.url, timeout=30)
        self.assertIn('Keystone', child.err)
        self.assertLess(child.seconds, 20)

    def test_compute_api(self):
        # Keystone is not asked (a fixed token); Nova never answers.
        peer = self.peer()
        conf = self.conf_file(self.case_dir(), extra=(
            '[placement]\nauth_type = admin_token\ntoken = t\n'
            'endpoint = %s\ntimeout = 2\n[reaper]\n'
            'compute_endpoint_override = %s\n' % (peer.url, peer.url)))
        child = self.assertRefusedBy(['--config-file', conf, 'reap',
                                      '--apply'], 'Compute API call GET '
                                     '/os-services', timeout=30)
        self.assertIn(peer.url, child.err)
        # It waited for the peer (2 s), then gave up well within the limit.
        self.assertGreaterEqual(child.seconds, 2)
        self.assertLess(child.seconds, 25)
        self.assertGreaterEqual(peer.connections, 1)
