# SPDX-License-Identifier: Apache-2.0

"""``nova-mig install-units``: units with this install's paths."""

import configparser
import io
import logging
import os
import pwd
import shutil
import subprocess
import sys

import fixtures
import testtools

from nova_mig.cli import app
from nova_mig.cli import units
from tests import base

SYSTEMD_ANALYZE = shutil.which('systemd-analyze')
VISUDO = shutil.which('visudo')


class InstallUnitsTestCase(base.TestCase):

    def setUp(self):
        super().setUp()
        root = logging.getLogger('')
        handlers, level = list(root.handlers), root.level

        def restore():
            root.handlers[:] = handlers
            root.setLevel(level)
        self.addCleanup(restore)
        self.out = os.path.join(self.tmpdir, 'system')
        self.conf_path = os.path.join(self.tmpdir, 'nova mig%.conf')
        with open(self.conf_path, 'w'):
            pass
        # A nova-mig executable of a virtual environment elsewhere.
        self.exe = os.path.join(self.tmpdir, 'venv', 'bin', 'nova-mig')
        os.makedirs(os.path.dirname(self.exe))
        with open(self.exe, 'w') as f:
            f.write('#!/bin/sh\n')
        os.chmod(self.exe, 0o755)

    def nova_mig(self, *args, command=('install-units', '--output-dir')):
        stdout, stderr = io.StringIO(), io.StringIO()
        argv = ['--config-file', self.conf_path] + list(command) + [
            self.out] + list(args)
        rc = app.NovaMigApp(stdout=stdout, stderr=stderr).run(argv)
        return rc, stdout.getvalue(), stderr.getvalue()

    def read(self, *parts):
        parser = configparser.RawConfigParser(strict=False,
                                              interpolation=None)
        parser.optionxform = str  # type: ignore[assignment,method-assign]
        with open(os.path.join(self.out, *parts)) as f:
            parser.read_string(f.read())
        return parser

    def test_units_run_the_executable_next_to_this_python(self):
        self.useFixture(fixtures.MonkeyPatch(
            'sys.executable', os.path.join(os.path.dirname(self.exe),
                                           'python3')))
        self.useFixture(fixtures.MonkeyPatch('sys.argv', ['python3']))

        rc, out, err = self.nova_mig()

        self.assertEqual(0, rc, err)
        restore = self.read('nova-mig-restore.service')
        # Paths with a space and a percent sign are quoted and escaped.
        args = '"%s" ' % self.conf_path.replace('%', '%%')
        with open(os.path.join(self.out, 'nova-mig-restore.service')) as f:
            starts = [line.strip() for line in f
                      if line.startswith('ExecStart=')]
        self.assertEqual(
            ['ExecStart=%s --config-file %s%s' % (self.exe, args, cmd)
             for cmd in ('layout restore', 'nova-config')], starts)
        self.assertEqual(['nova-compute.service', 'libvirt-guests.service'],
                         restore.get('Unit', 'Before').split())
        drop_in = self.read('nova-compute.service.d', 'nova-mig.conf')
        self.assertEqual('+%s --config-file %shook pre-start'
                         % (self.exe, args),
                         drop_in.get('Service', 'ExecStartPre'))
        self.assertEqual('-+%s --config-file %shook post-start'
                         % (self.exe, args),
                         drop_in.get('Service', 'ExecStartPost'))
        self.assertIn('Wrote %s' % os.path.join(
            self.out, 'nova-compute.service.d', 'nova-mig.conf'), out)
        self.assertIn('Units run %s' % self.exe, out)

    def test_restarting_restore_never_restarts_nova_compute(self):
        rc, _, err = self.nova_mig('--executable', self.exe)
        self.assertEqual(0, rc, err)
        unit = self.read('nova-compute.service.d', 'nova-mig.conf')['Unit']
        self.assertEqual('nova-mig-restore.service', unit['Wants'])
        self.assertEqual('nova-mig-restore.service', unit['After'])
        # Requires=, BindsTo= and PartOf= propagate a restart or a stop.
        for key in ('Requires', 'BindsTo', 'PartOf', 'Requisite'):
            self.assertNotIn(key, unit)

    def test_other_nova_compute_unit(self):
        rc, _, err = self.nova_mig(
            '--executable', self.exe, '--nova-compute-unit',
            'kolla-nova_compute-container.service')
        self.assertEqual(0, rc, err)
        self.assertTrue(os.path.isfile(os.path.join(
            self.out, 'kolla-nova_compute-container.service.d',
            'nova-mig.conf')))
        self.assertIn('kolla-nova_compute-container.service', self.read(
            'nova-mig-restore.service').get('Unit', 'Before'))

    def test_dry_run_prints_and_writes_nothing(self):
        rc, out, err = self.nova_mig('--executable', self.exe, '--dry-run')
        self.assertEqual(0, rc, err)
        self.assertFalse(os.path.exists(self.out))
        self.assertIn('# %s\n' % os.path.join(self.out,
                                              'nova-mig-restore.service'),
                      out)
        self.assertIn('ExecStartPre=+%s' % self.exe, out)
        self.assertNotIn('@', out.replace('@NOVA', ''))
        self.assertNotIn('@NOVA_MIG@', out)
        self.assertNotIn('\n##', out)

    def test_metrics_units_run_metrics_into_the_textfile(self):
        prom = '/var/lib/prometheus/node-exporter/nova-mig.prom'
        rc, out, err = self.nova_mig('--executable', self.exe,
                                     '--metrics-textfile', prom)
        self.assertEqual(0, rc, err)
        args = '"%s" ' % self.conf_path.replace('%', '%%')
        service = self.read('nova-mig-metrics.service')
        self.assertEqual('%s --config-file %smetrics --textfile %s'
                         % (self.exe, args, prom),
                         service.get('Service', 'ExecStart'))
        self.assertEqual('oneshot', service.get('Service', 'Type'))
        timer = self.read('nova-mig-metrics.timer')
        self.assertEqual('1min', timer.get('Timer', 'OnUnitInactiveSec'))
        self.assertEqual('timers.target', timer.get('Install', 'WantedBy'))
        with open(os.path.join(self.out, 'nova-mig-metrics.service')) as f:
            text = f.read()
        self.assertNotIn('@', text)
        self.assertNotIn('\n##', text)
        self.assertIn('Metrics to %s. Next: systemctl enable --now '
                      'nova-mig-metrics.timer' % prom, out)
        # The restore unit and the drop-in are written as without it.
        self.assertTrue(os.path.isfile(
            os.path.join(self.out, 'nova-mig-restore.service')))

    def test_no_metrics_units_unless_asked(self):
        rc, out, err = self.nova_mig('--executable', self.exe)
        self.assertEqual(0, rc, err)
        self.assertEqual(['nova-compute.service.d',
                          'nova-mig-restore.service'],
                         sorted(os.listdir(self.out)))
        self.assertNotIn('Metrics to', out)

    def test_bad_metrics_textfile_is_one_line_and_writes_nothing(self):
        for bad, why in (('nova-mig.prom', 'not an absolute path'),
                         ('/var/lib/node-exporter/nova-mig.txt',
                          'ending in .prom'),
                         ('/var/lib/node exporter/nova-mig.prom',
                          'white space')):
            rc, _, err = self.nova_mig('--executable', self.exe,
                                       '--metrics-textfile', bad)
            self.assertEqual(1, rc, bad)
            self.assertEqual(1, err.count('\n'), err)
            self.assertTrue(err.startswith(
                'nova-mig: error: Cannot install nova-mig\'s host files: '
                '--metrics-textfile '), err)
            self.assertIn(why, err)
            self.assertFalse(os.path.exists(self.out))

    def test_second_run_leaves_files_alone(self):
        self.nova_mig('--executable', self.exe)
        rc, out, _ = self.nova_mig('--executable', self.exe)
        self.assertEqual(0, rc)
        self.assertEqual(2, out.count('Unchanged '))

    def test_missing_executable_is_one_clear_line(self):
        rc, out, err = self.nova_mig('--executable',
                                     os.path.join(self.tmpdir, 'nope'))
        self.assertEqual(1, rc)
        self.assertEqual('nova-mig: error: Cannot install nova-mig\'s host '
                         'files: --executable %s is not an executable file\n'
                         % os.path.join(self.tmpdir, 'nope'), err)
        self.assertFalse(os.path.exists(self.out))

    def test_no_executable_found(self):
        self.useFixture(fixtures.MonkeyPatch(
            'sys.executable', os.path.join(self.tmpdir, 'python3')))
        self.useFixture(fixtures.MonkeyPatch('sys.argv', ['python3']))
        self.useFixture(fixtures.EnvironmentVariable('PATH', self.tmpdir))
        rc, _, err = self.nova_mig()
        self.assertEqual(1, rc)
        self.assertIn('no nova-mig executable found', err)
        self.assertIn('pass --executable PATH', err)

    def test_bad_unit_name(self):
        rc, _, err = self.nova_mig('--executable', self.exe,
                                   '--nova-compute-unit', '../evil')
        self.assertEqual(1, rc)
        self.assertIn('is not a unit name ending in .service', err)

    def test_templates_missing(self):
        rc, _, err = self.nova_mig('--executable', self.exe,
                                   '--template-dir', self.tmpdir)
        self.assertEqual(1, rc)
        self.assertIn('reinstall nova-mig or pass --template-dir', err)

    def test_template_dirs_start_with_this_prefix(self):
        self.assertEqual(os.path.join(sys.prefix, 'share', 'nova-mig'),
                         units.template_dirs()[0])

    def sudoers(self, *args):
        self.useFixture(fixtures.MonkeyPatch(
            'sys.executable', os.path.join(os.path.dirname(self.exe),
                                           'python3')))
        helper_path = os.path.join(os.path.dirname(self.exe),
                                   'privsep-helper')
        shutil.copy(self.exe, helper_path)
        self.out = os.path.join(self.tmpdir, 'sudoers.d', 'nova-mig')
        self.conf_path = os.path.join(self.tmpdir, 'nova-mig.conf')
        with open(self.conf_path, 'w'):
            pass
        return helper_path, self.nova_mig(
            '--user', 'nova', *args,
            command=('install-sudoers', '--output'))

    def test_sudoers_rule_names_the_exact_helper_command(self):
        helper_path, (rc, out, err) = self.sudoers()
        self.assertEqual(0, rc, err)
        self.assertEqual('Wrote %s\n' % self.out, out)
        self.assertEqual(0o440, os.stat(self.out).st_mode & 0o777)
        with open(self.out) as f:
            rules = [line for line in f.read().splitlines()
                     if line and not line.startswith('#')]
        # One exact argv per context: the socket path is fixed below
        # [host]state_dir, and no rule has a wildcard.
        self.assertEqual(
            ['Defaults:nova !requiretty'] + [
                'nova ALL = (root) NOPASSWD: %s --config-file %s '
                '--privsep_context nova_mig.privsep.%s_pctxt '
                '--privsep_sock_path /var/lib/nova-mig/privsep/%s.sock'
                % (helper_path, self.conf_path, name, name)
                for name in ('sysfs', 'nvml', 'files', 'proc')],
            rules)
        self.assertNotIn('*', ''.join(rules))

    def test_sudoers_refuses_files_the_user_or_everyone_may_change(self):
        _, (rc, _, err) = self.sudoers('--dry-run')
        self.assertEqual(0, rc, err)
        os.chmod(self.conf_path, 0o666)
        rc, _, err = self.nova_mig('--user', 'nova', command=(
            'install-sudoers', '--output'))
        self.assertEqual(1, rc)
        self.assertIn('%s is writable by everyone, and the root privsep '
                      'daemons run or read it; make it root\'s (chown root '
                      '%s; chmod go-w %s)' % ((self.conf_path,) * 3), err)
        self.assertFalse(os.path.exists(self.out))
        os.chmod(self.conf_path, 0o644)
        if os.geteuid() == 0:
            os.chown(self.conf_path, pwd.getpwnam('nobody').pw_uid, -1)
            rc, _, err = self.nova_mig('--user', 'nobody', command=(
                'install-sudoers', '--output'))
            self.assertEqual(1, rc)
            self.assertIn('%s is writable by user nobody, its owner'
                          % self.conf_path, err)
            self.assertFalse(os.path.exists(self.out))

    def test_sudoers_refuses_a_bad_user_and_spaces(self):
        _, (rc, _, err) = self.sudoers('--dry-run')
        self.assertEqual(0, rc, err)
        rc, _, err = self.nova_mig('--user', 'no body', command=(
            'install-sudoers', '--output'))
        self.assertEqual(1, rc)
        self.assertIn("--user 'no body' is not a user name", err)
        self.assertFalse(os.path.exists(self.out))

    @testtools.skipIf(VISUDO is None, 'visudo is not installed (bindep.txt '
                      'lists sudo for the test profile)')
    def test_sudoers_rule_passes_visudo(self):
        _, (rc, out, err) = self.sudoers()
        self.assertEqual(0, rc, err)
        result = subprocess.run([VISUDO, '-c', '-f', self.out],
                                capture_output=True, text=True, check=False)
        self.assertEqual(0, result.returncode, result.stdout + result.stderr)

    @testtools.skipIf(SYSTEMD_ANALYZE is None,
                      'systemd-analyze is not installed (bindep.txt lists '
                      'systemd for the test profile)')
    def test_systemd_analyze_verify(self):
        rc, _, err = self.nova_mig('--executable', self.exe)
        self.assertEqual(0, rc, err)
        # A stand-in for nova-compute's own unit, which the drop-in extends.
        with open(os.path.join(self.out, 'nova-compute.service'), 'w') as f:
            f.write('[Unit]\nDescription=stand-in\n[Service]\n'
                    'ExecStart=%s\n' % self.exe)
        rc, _, err = self.nova_mig('--executable', self.exe,
                                   '--metrics-textfile',
                                   os.path.join(self.tmpdir, 'nova-mig.prom'))
        self.assertEqual(0, rc, err)
        units_ = [os.path.join(self.out, name) for name in
                  ('nova-mig-restore.service', 'nova-compute.service',
                   'nova-mig-metrics.service', 'nova-mig-metrics.timer')]

        def verify():
            return subprocess.run(
                [SYSTEMD_ANALYZE, 'verify'] + units_,
                capture_output=True, text=True, check=False)

        result = verify()
        self.assertEqual(0, result.returncode, result.stderr)
        self.assertEqual('', result.stderr)
        # verify can fail: it checks the executable the units run.
        os.unlink(self.exe)
        result = verify()
        self.assertNotEqual(0, result.returncode)
        self.assertIn('%s is not executable' % self.exe, result.stderr)
