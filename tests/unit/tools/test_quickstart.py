# SPDX-License-Identifier: Apache-2.0

"""Tests for tools/quickstart.sh test: the gates and the closing line.

The script runs on a copy of itself in a temporary tree whose virtual
environment holds stubs: each tool exits 1 when its name is in $FAIL.
"""

import os
import shutil
import stat
import subprocess

import fixtures

from tests import base

TOP = os.path.abspath(os.path.join(os.path.dirname(__file__),
                                   os.pardir, os.pardir, os.pardir))
STUB = '''#!/bin/bash
name=$(basename "$0")
if [ "$name" = python ] && [ "${1:-}" = tools/import_graph.py ]; then
    name=import_graph
fi
echo "$name $*" >> "$CALLS"
case " $FAIL " in *" $name "*) exit 1 ;; esac
case "$name ${1:-}" in
    "stestr run")
        echo "${OS_TEST_TIMEOUT:-unset}" \\
            "${NOVA_MIG_TEST_WORKER_LIMIT:-unset}" > "$CALLS.bounds"
        mkdir -p .stestr
        echo $(( $(cat .stestr/next-stream 2>/dev/null || echo 0) + 1 )) \\
            > .stestr/next-stream ;;
    "subunit-stats "*)
        printf 'Passed tests:   5\\nFailed tests:   0\\n'
        printf 'Skipped tests:  1\\n' ;;
esac
exit 0
'''
TOOLS = ('python', 'flake8', 'bashate', 'mypy', 'stestr', 'subunit-stats',
         'nova-mig', 'bindep')


class TestQuickstartTest(base.TestCase):

    def setUp(self):
        super().setUp()
        self.top = os.path.join(self.tmpdir, 'tree')
        os.makedirs(os.path.join(self.top, 'tools'))
        for name in ('quickstart.sh', 'bashate.sh', 'mypy.sh'):
            shutil.copy(os.path.join(TOP, 'tools', name),
                        os.path.join(self.top, 'tools', name))
        bindir = os.path.join(self.top, '.venv', 'bin')
        os.makedirs(bindir)
        for name in TOOLS:
            path = os.path.join(bindir, name)
            with open(path, 'w') as f:
                f.write(STUB)
            os.chmod(path, os.stat(path).st_mode | stat.S_IEXEC)
        self.calls = os.path.join(self.tmpdir, 'calls')

    def run_test(self, *args, fail=''):
        env = dict(os.environ, FAIL=fail, CALLS=self.calls,
                   NOVA_MIG_SKIP_BINDEP='1')
        env.pop('NOVA_MIG_VENV', None)
        result = subprocess.run(
            [os.path.join(self.top, 'tools', 'quickstart.sh'), 'test'] +
            list(args), capture_output=True, text=True, env=env)
        with open(self.calls) as f:
            called = [line.split()[0] for line in f]
        return result, called

    def test_every_gate_and_the_tests_run(self):
        result, called = self.run_test()
        self.assertEqual(0, result.returncode, result.stderr)
        self.assertEqual('5 passed, 0 failed, 1 skipped',
                         result.stdout.splitlines()[-1])
        for gate in ('flake8', 'bashate', 'mypy', 'import_graph'):
            self.assertIn(gate, called)
        # one mypy --strict over the whole package (setup.cfg: files)
        with open(self.calls) as f:
            mypy = [line.split() for line in f if line.startswith('mypy')]
        self.assertEqual([['mypy', '--strict']], mypy)
        self.assertLess(called.index('import_graph'), called.index('stestr'))

    def test_a_failed_gate_fails_the_run_after_the_tests(self):
        for gate in ('flake8', 'bashate', 'mypy', 'import_graph'):
            if os.path.exists(self.calls):
                os.remove(self.calls)
            result, called = self.run_test(fail=gate)
            self.assertEqual(1, result.returncode, gate)
            self.assertIn('stestr', called)
            self.assertEqual('5 passed, 0 failed, 1 skipped',
                             result.stdout.splitlines()[-1])
            self.assertIn('FAILED gates: %s' % gate.replace('_', '-'),
                          result.stderr)

    def test_the_tests_run_bounded(self):
        # tests/__init__.py and oslotest read these: 600 s a test, an
        # hour a test process; the caller's own values win.
        for name in ('OS_TEST_TIMEOUT', 'NOVA_MIG_TEST_WORKER_LIMIT'):
            self.useFixture(fixtures.EnvironmentVariable(name))
        result, called = self.run_test('tests.unit.test_lock')
        self.assertEqual(0, result.returncode, result.stderr)
        with open(self.calls + '.bounds') as f:
            self.assertEqual('600 3600\n', f.read())
        self.useFixture(fixtures.EnvironmentVariable('OS_TEST_TIMEOUT', '9'))
        self.useFixture(fixtures.EnvironmentVariable(
            'NOVA_MIG_TEST_WORKER_LIMIT', '99'))
        result, called = self.run_test('tests.unit.test_lock')
        with open(self.calls + '.bounds') as f:
            self.assertEqual('9 99\n', f.read())

    def test_selected_tests_run_without_gates(self):
        result, called = self.run_test('tests.unit.test_lock',
                                       fail='flake8 mypy')
        self.assertEqual(0, result.returncode, result.stderr)
        self.assertNotIn('flake8', called)
        self.assertIn('stestr', called)


class TestQuickstartDemo(TestQuickstartTest):
    """tools/quickstart.sh demo: its requirements, its host and layout."""

    def setUp(self):
        super().setUp()
        for rel, text in (
                ('requirements.txt', 'pbr\n'),
                ('test-requirements.txt', 'nova\n'),
                ('etc/nova-mig/demo.conf', '[gpu]\n'),
                ('etc/nova-mig/hosts/a100-mixed.yaml', 'version: 1\n'),
                ('etc/nova-mig/hosts/big.yaml', 'version: 1\n'),
                ('etc/nova-mig/layouts/other.yaml',
                 '# fits: etc/nova-mig/hosts/bigger.yaml\n'),
                ('etc/nova-mig/layouts/big.yaml',
                 '# fits: etc/nova-mig/hosts/big.yaml (with a flag)\n')):
            path = os.path.join(self.top, rel)
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, 'w') as f:
                f.write(text)

    def run_demo(self, *args):
        env = dict(os.environ, FAIL='', CALLS=self.calls,
                   NOVA_MIG_SKIP_BINDEP='1')
        env.pop('NOVA_MIG_VENV', None)
        if os.path.exists(self.calls):
            os.remove(self.calls)
        result = subprocess.run(
            [os.path.join(self.top, 'tools', 'quickstart.sh'), 'demo'] +
            list(args), capture_output=True, text=True, env=env,
            cwd=self.top)
        with open(self.calls) as f:
            return result, f.read().splitlines()

    def test_installs_only_the_demo_requirements_once(self):
        result, calls = self.run_demo()
        self.assertEqual(0, result.returncode, result.stderr)
        pip = [c for c in calls if ' pip install' in c]
        self.assertEqual(1, len(pip), calls)
        self.assertIn('-r requirements.txt -e .[embedded,osc]', pip[0])
        self.assertNotIn('test-requirements', pip[0])
        result, calls = self.run_demo()
        self.assertEqual([], [c for c in calls if ' pip install' in c])

    def test_host_option_plans_the_layout_that_fits(self):
        result, calls = self.run_demo('--host', 'big')
        self.assertEqual(0, result.returncode, result.stderr)
        plans = [c for c in calls if ' layout plan ' in c]
        self.assertEqual(1, len(plans), calls)
        self.assertIn('--config-file etc/nova-mig/demo.conf --config-file '
                      '.nova-mig-state/hosts/big/demo-host.conf', plans[0])
        # Summed up from its JSON; --verbose shows the plan itself.
        self.assertTrue(plans[0].endswith(
            'layout plan etc/nova-mig/layouts/big.yaml -f json'), plans[0])
        result, calls = self.run_demo('--host', 'big', '--verbose')
        plans = [c for c in calls if ' layout plan ' in c]
        self.assertTrue(plans[0].endswith(
            'layout plan etc/nova-mig/layouts/big.yaml'), plans[0])
        with open(os.path.join(self.top, '.nova-mig-state', 'hosts', 'big',
                               'demo-host.conf')) as f:
            self.assertIn('host_file = etc/nova-mig/hosts/big.yaml',
                          f.read())

    def test_unknown_host_names_the_example_hosts(self):
        result, _calls = self.run_demo('--host', 'nope')
        self.assertEqual(1, result.returncode)
        self.assertIn('choose one of: a100-mixed big', result.stderr)
