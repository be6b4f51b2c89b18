# SPDX-License-Identifier: Apache-2.0

"""The deployment files shipped under etc/kolla hold together."""

import configparser
import os
import subprocess

from oslo_config import cfg
import yaml

import nova_mig.conf

from tests import base

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..'))
KOLLA = os.path.join(REPO, 'etc', 'kolla')


class KollaFilesTestCase(base.TimedTestCase):

    def setUp(self):
        super().setUp()
        self.conf_path = os.path.join(KOLLA, 'nova-mig.conf')

    def test_every_option_of_the_host_conf_exists_and_parses(self):
        conf = cfg.ConfigOpts()
        nova_mig.conf.register_opts(conf)
        conf(['--config-file', self.conf_path], project='nova-mig',
             default_config_files=[], default_config_dirs=[])
        parser = configparser.RawConfigParser()
        parser.read(self.conf_path)
        for section in parser.sections():
            for option in parser.options(section):
                # Raises NoSuchOptError for a misspelt option.
                getattr(conf[section], option)
        self.assertEqual('/var/lib/nova-mig', conf.host.state_dir)
        self.assertEqual('2025.1', conf.nova.release)
        self.assertEqual(['docker', 'exec', 'nova_libvirt', 'mdevctl'],
                         conf.hook.mdevctl_command)

    def test_container_mounts_what_the_host_writes(self):
        conf = configparser.RawConfigParser()
        conf.read(self.conf_path)
        with open(os.path.join(KOLLA, 'globals-nova-mig.yml')) as f:
            value = yaml.safe_load(f)['nova_compute_extra_volumes']
        mounts = {}
        for volume in value.split('[', 1)[1].rsplit(']', 1)[0].split(','):
            host, container, mode = volume.strip().strip("'").split(':')
            self.assertEqual('ro', mode)
            mounts[host] = container
        snippet = conf.get('nova', 'config_snippet')
        provider = conf.get('nova', 'provider_config_file')
        self.assertEqual('/etc/nova/nova.conf.d',
                         mounts[os.path.dirname(snippet)])
        self.assertEqual('/etc/nova/provider_config',
                         mounts[os.path.dirname(provider)])

    def test_entrypoint_is_valid_sh(self):
        path = os.path.join(KOLLA, 'nova-compute-with-mig')
        self.assertTrue(os.access(path, os.X_OK))
        subprocess.run(['sh', '-n', path], check=True)
