# SPDX-License-Identifier: Apache-2.0

"""nova-mig as ``pip install nova-mig`` leaves it, against a real cloud."""

import configparser
import json
import os
import subprocess

from tests import base as test_base
from tests.integration import services
from tests.production import base


class InstallTestCase(base.ProductionTestCase):

    def steps(self, out: str) -> dict[str, dict]:
        return {row['Step']: row for row in json.loads(out)}

    def test_only_the_requirements_are_installed(self):
        python = os.path.join(self.venv, 'bin', 'python')
        found = subprocess.run(
            [python, '-c', 'import importlib.util as u; print([m for m in '
             '("oslo_db", "placement", "keystone", "nova", "testtools", '
             '"scipy", "numpy") if u.find_spec(m)])'],
            capture_output=True, text=True, check=True,
            env={'PATH': os.environ.get('PATH', '')})
        self.assertEqual('[]', found.stdout.strip())
        # And nova-mig is the installed wheel, not the working tree.
        where = subprocess.run(
            [python, '-c', 'import nova_mig; print(nova_mig.__file__)'],
            capture_output=True, text=True, check=True, cwd=self.tmpdir,
            env={'PATH': os.environ.get('PATH', '')})
        self.assertTrue(where.stdout.startswith(self.venv), where.stdout)

    def test_sync_verify_and_hooks_against_the_cloud(self):
        conf = self.conf_file()
        self.seed(conf)

        rc, out, err = self.installed('sync', '-f', 'json', conf_file=conf)
        self.assertEqual(0, rc, out + err)
        self.assertEqual([], json.loads(out)['missing'])

        rc, out, err = self.installed('verify', conf_file=conf)
        self.assertEqual(0, rc, out + err)
        self.assertIn('Placement matches the host', out)

        rc, out, err = self.installed('hook', 'pre-start', '-f', 'json',
                                      conf_file=conf)
        self.assertEqual(0, rc, out + err)
        self.assertEqual({'ok', 'skipped'},
                         {s['Status'] for s in self.steps(out).values()})
        self.assertEqual('ok', self.steps(out)['placement']['Status'])
        self.assertTrue(os.path.exists(self.snippet))

        rc, out, err = self.installed('hook', 'post-start', '-f', 'json',
                                      conf_file=conf)
        self.assertEqual(0, rc, out + err)
        self.assertEqual({'ok'},
                         {s['Status'] for s in self.steps(out).values()})
        self.assertNotIn('Traceback', err)

    def test_placement_outage(self):
        url = test_base.closed_port_url()
        conf = self.conf_file(self.services.placement_section(
            endpoint_override=url), extra='[hook]\nplacement_timeout = 5\n')

        rc, out, err = self.installed('sync', conf_file=conf)
        self.assertEqual(1, rc, out + err)
        self.assertEqual(1, len(err.splitlines()), err)
        self.assertIn('Placement at %s is unreachable' % url, err)

        rc, out, err = self.installed('hook', 'pre-start', '-f', 'json',
                                      conf_file=conf)
        self.assertEqual(0, rc, out + err)
        self.assertEqual('warning', self.steps(out)['placement']['Status'])
        self.assertIn('nova-compute starts anyway', err)
        self.assertTrue(os.path.exists(self.snippet))

        rc, out, err = self.installed('hook', 'pre-start', '--strict',
                                      conf_file=conf)
        self.assertEqual(1, rc, out + err)
        self.assertIn('(strict mode)', err)

    def test_install_units_of_the_venv(self):
        out_dir = os.path.join(self.tmpdir, 'system')
        rc, out, err = self.installed('install-units', '--output-dir',
                                      out_dir)
        self.assertEqual(0, rc, out + err)
        exe = os.path.join(self.venv, 'bin', 'nova-mig')
        self.assertIn('Units run %s.' % exe, out)
        with open(os.path.join(out_dir, 'nova-compute.service.d',
                               'nova-mig.conf')) as f:
            self.assertIn('ExecStartPre=+%s --config-file '
                          '/etc/nova-mig/nova-mig.conf hook pre-start' % exe,
                          f.read())

    def test_no_placement_configured(self):
        # A forgotten "--config-file /etc/nova/nova.conf": no [placement].
        conf = self.conf_file(placement='')
        for command in ('sync', 'verify'):
            rc, out, err = self.installed(command, conf_file=conf)
            self.assertEqual(1, rc, out + err)
            self.assertEqual(1, len(err.splitlines()), err)
            self.assertIn('Placement is not configured', err)
            self.assertIn('[placement]', err)
            self.assertNotIn('oslo_db', err)
        rc, out, err = self.installed('hook', 'pre-start', '-f', 'json',
                                      conf_file=conf)
        self.assertEqual(0, rc, out + err)
        self.assertEqual('warning', self.steps(out)['placement']['Status'])
        self.assertIn('Placement is not configured', err)
        rc, out, err = self.installed('hook', 'pre-start', '--strict',
                                      conf_file=conf)
        self.assertEqual(1, rc, out + err)

    def test_keystone_outage_in_hooks_like_a_placement_outage(self):
        url = test_base.closed_port_url()
        conf = self.conf_file(self.services.placement_section(
            auth_url=url + '/v3'), extra='[hook]\nplacement_timeout = 5\n')
        rc, out, err = self.installed('hook', 'pre-start', '-f', 'json',
                                      conf_file=conf)
        self.assertEqual(0, rc, out + err)
        self.assertEqual('warning', self.steps(out)['placement']['Status'])
        self.assertIn(url, err)
        self.assertIn('nova-compute starts anyway', err)
        rc, out, err = self.installed('hook', 'pre-start', '--strict',
                                      conf_file=conf)
        self.assertEqual(1, rc, out + err)
        self.assertIn('(strict mode)', err)

    def test_nova_conf_placement_with_auth_section(self):
        # nova.conf's [placement] pointing at [keystone_authtoken], with
        # no auth_type of its own: the file sync runs is this one.
        section = self.services.placement_section()
        conf = self.conf_file(
            '[placement]\nauth_section = keystone_authtoken\n'
            'region_name = RegionOne\nvalid_interfaces = public\n'
            '[keystone_authtoken]\n' + ''.join(
                line + '\n' for line in section.splitlines()[1:]
                if not line.startswith(('region_name', 'valid_interfaces'))))
        with open(conf) as f:
            written = f.read()
        # nova-compute's providers, created through a file of the test's
        # own: never the one sync runs.
        self.seed(self.conf_file(name='seed.conf'))
        self.assertNotEqual(conf, os.path.join(self.tmpdir, 'seed.conf'))

        rc, out, err = self.installed('sync', '-f', 'json', conf_file=conf)
        self.assertEqual(0, rc, out + err)
        self.assertEqual(self.services.placement.url,
                         json.loads(out)['placement'])
        self.assertEqual([], json.loads(out)['missing'])
        with open(conf) as f:
            self.assertEqual(written, f.read())
        parsed = configparser.ConfigParser(interpolation=None)
        parsed.read_string(written)
        self.assertEqual('keystone_authtoken',
                         parsed['placement']['auth_section'])
        self.assertNotIn('auth_type', parsed['placement'])

    def test_outputs_name_the_placement_used(self):
        conf = self.conf_file()
        self.seed(conf)
        for command in ('sync', 'verify'):
            rc, out, err = self.installed(command, conf_file=conf)
            self.assertEqual(0, rc, out + err)
            self.assertIn('Placement %s' % self.services.placement.url, out)
            rc, out, err = self.installed(command, '-f', 'json',
                                          conf_file=conf)
            self.assertEqual(self.services.placement.url,
                             json.loads(out)['placement'])

    def test_secrets_never_printed_nor_logged(self):
        log_dir = os.path.join(self.tmpdir, 'logs')
        os.mkdir(log_dir)
        conf = self.conf_file(extra='[DEFAULT]\ndebug = True\n')
        self.seed(conf)
        texts = []
        for args in (('sync',), ('-v', '-v', '--debug', 'sync'),
                     ('--debug', '--log-dir', log_dir, 'hook', 'pre-start'),
                     ('--debug', '--log-file',
                      os.path.join(log_dir, 'x.log'), 'verify')):
            rc, out, err = self.installed(*args, conf_file=conf)
            self.assertEqual(0, rc, out + err)
            texts += [out, err]
        for name in os.listdir(log_dir):
            with open(os.path.join(log_dir, name)) as f:
                texts.append(f.read())
        self.assertIn('nova-mig.log', os.listdir(log_dir))
        self.assertIn('x.log', os.listdir(log_dir))
        self.assertTrue(any('DEBUG' in t for t in texts[-2:]))
        for text in texts:
            self.assertNotIn(services.SERVICE_PASSWORD, text)

    def test_nova_release_from_the_option_without_a_nova_package(self):
        # No nova package in this venv: [nova]release decides, else 2024.1,
        # which lacks the "managed": "no" tag of vendor-specific VFIO.
        host = 'h200-vendor-vfio-uniform.yaml'
        conf = self.conf_file(host=host)
        rc, out, err = self.installed('nova-config', '--dry-run',
                                      conf_file=conf)
        self.assertEqual(1, rc, out + err)
        self.assertIn('needs Nova 2025.1 Epoxy (31.x) or later; this host '
                      'targets Nova 2024.1 Caracal (29.x) (no nova package '
                      'installed and [nova]release unset', err)
        self.assertFalse(os.path.exists(self.snippet))
        conf = self.conf_file(host=host, extra='[nova]\nrelease = epoxy\n')
        rc, out, err = self.installed('nova-config', conf_file=conf)
        self.assertEqual(0, rc, out + err)
        with open(self.snippet) as f:
            self.assertIn('"managed": "no"', f.read())
