# SPDX-License-Identifier: Apache-2.0

"""One exit-status convention for every nova-mig and openstack mig command.

The codes are written once (:mod:`nova_mig.exitcodes`); every command of
both entry-point groups gets its status through the one mixin, and none
writes its own ``run`` to compute it.
"""

import argparse
import contextlib
import importlib.metadata
import inspect
import io
import re
import types

from cliff import lister

from nova_mig.cli import common
from nova_mig.cli import shell
from nova_mig import exception
from nova_mig import exitcodes
from tests import base

GROUPS = ('nova_mig.cli', 'openstack.mig.v1')
#: Modules whose ``run`` a command may inherit: the frameworks', and the
#: convention's own (the mixin and the CLI's error reporting around it).
FRAMEWORKS = ('cliff.', 'osc_lib.')
OWN_RUNS = {exitcodes.ExitStatus, common.ErrorReporting}


def commands():
    """(entry point name, class) of every command of both groups."""
    eps = importlib.metadata.entry_points()
    found = [(ep.name, ep.load()) for group in GROUPS
             for ep in eps.select(group=group)]
    if not found:
        raise AssertionError('no command entry points: is nova-mig '
                             'installed (pip install -e .)?')
    return found


class ConventionTestCase(base.TestCase):

    def test_the_codes(self):
        self.assertEqual(
            {'OK': 0, 'FAILED': 1, 'USAGE': 2, 'WAITING': 2, 'REFUSED': 3},
            {name: int(code)
             for name, code in exitcodes.ExitCode.__members__.items()})

    def test_every_command_uses_the_shared_mechanism(self):
        names = []
        for name, cls in commands():
            names.append(name)
            self.assertTrue(issubclass(cls, exitcodes.ExitStatus), name)
            runs = [k for k in cls.__mro__ if 'run' in vars(k)]
            own = [k for k in runs if k not in OWN_RUNS and
                   not k.__module__.startswith(FRAMEWORKS)]
            self.assertEqual([], own, '%s writes its own run()' % name)
            # The mixin's run comes first: no framework run outside it
            # could drop the status it returns.
            self.assertIn(runs[0], OWN_RUNS, name)
        # Both groups were read (the list is not trivially empty).
        self.assertIn('reap', names)
        self.assertIn('mig_rebalance_plan', names)

    def test_no_command_module_writes_a_number(self):
        # The statuses are named, not written as numbers, in the commands.
        written = re.compile(r'exit_code =|REFUSED_EXIT|_failed|'
                             r'return [1-9]\b|\bor [1-9]\b')
        for name, cls in commands():
            with open(inspect.getsourcefile(cls), encoding='utf-8') as f:
                found = written.findall(f.read())
            self.assertEqual([], found, name)

    def test_status_precedence(self):
        status = exitcodes.status
        self.assertEqual(exitcodes.ExitCode.OK, status())
        self.assertEqual(exitcodes.ExitCode.REFUSED, status(refused=True))
        self.assertEqual(exitcodes.ExitCode.WAITING,
                         status(waiting=True, refused=True))
        self.assertEqual(exitcodes.ExitCode.FAILED,
                         status(failed=True, waiting=True, refused=True))


class _Fake(common.ErrorReporting, lister.Lister):
    """Ends as the test tells it: a status, an error, or OK."""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument('--status', type=int)
        parser.add_argument('--error', choices=('nova-mig', 'os'))
        return parser

    def take_action(self, parsed_args):
        if parsed_args.error == 'nova-mig':
            raise exception.ConfigError(reason='a bad key')
        if parsed_args.error == 'os':
            raise FileNotFoundError(2, 'No such file', '/nowhere')
        if parsed_args.status is not None:
            self.exit_status = exitcodes.ExitCode(parsed_args.status)
        return ('a',), [(1,)]


class MixinTestCase(base.TestCase):

    def setUp(self):
        super().setUp()
        self.app = types.SimpleNamespace(stdout=io.StringIO(),
                                         stderr=io.StringIO(),
                                         options=None)
        self.cmd = _Fake(self.app, argparse.Namespace(debug=False))

    def run_cmd(self, *argv):
        args = self.cmd.get_parser('fake').parse_args(
            list(argv) + ['-f', 'json'])
        return self.cmd.run(args)

    def test_the_status_take_action_sets(self):
        for code in exitcodes.ExitCode:
            self.assertEqual(code, self.run_cmd('--status', str(int(code))))

    def test_a_status_does_not_outlive_its_run(self):
        self.assertEqual(3, self.run_cmd('--status', '3'))
        self.assertEqual(0, self.run_cmd())

    def test_errors_fail_with_one_line(self):
        self.assertEqual(1, self.run_cmd('--error', 'nova-mig'))
        self.assertEqual(1, self.run_cmd('--error', 'os'))
        self.assertEqual(
            'nova-mig: error: Invalid configuration: a bad key\n'
            'nova-mig: error: /nowhere: No such file\n',
            self.app.stderr.getvalue())

    def test_cliffs_own_status_wins(self):
        # A status cliff's run returns (take_action's int) is not hidden
        # by the OK the command's status starts as.
        class Returns(common.Command):
            def take_action(self, parsed_args):
                return 4
        cmd = Returns(self.app, argparse.Namespace(debug=False))
        self.assertEqual(4, cmd.run(argparse.Namespace()))


class UsageTestCase(base.TestCase):

    def main(self, *argv):
        err = io.StringIO()
        with contextlib.redirect_stderr(err), \
                contextlib.redirect_stdout(io.StringIO()):
            try:
                return shell.main(list(argv)), err.getvalue()
            except SystemExit as e:
                return e.code, err.getvalue()

    def test_bare_command_line(self):
        rc, err = self.main()
        self.assertEqual(exitcodes.ExitCode.USAGE, rc)
        self.assertIn('nova-mig', err)

    def test_unknown_option(self):
        rc, err = self.main('layout', 'plan', '--no-such-option', 'x.yaml')
        self.assertEqual(exitcodes.ExitCode.USAGE, rc)
        self.assertIn('--no-such-option', err)
