# SPDX-License-Identifier: Apache-2.0

"""The devstack plugin's phases under bash, against stubbed devstack.

devstack's own functions (iniset, trueorfalse, setup_develop, die, ...)
come from ``stubs.sh``; nova-mig itself is the real command of this
virtual environment, on a simulated host with the embedded Placement, so
the files the phases write are the real ones.
"""

import os
import re
import shutil
import subprocess
import sys

import fixtures

from tests import base
from tests.devstack import ini

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, '..', '..'))
HOST = 'compute-a100-1'
LAYOUT = os.path.join(REPO, 'etc', 'nova-mig', 'layouts',
                      'a100-balanced.yaml')

SCRIPT = """
set -o errexit
source "$STUB_DIR/stubs.sh"
source "$REPO/devstack/settings"
for phase in $PHASES; do
    case $phase in
        fn:*)
            source "$REPO/devstack/lib/nova-mig"
            ${phase#fn:}
            ;;
        *)
            source "$REPO/devstack/plugin.sh" ${phase/:/ }
            ;;
    esac
done
echo "xtrace after: $(set +o | grep xtrace)"
"""


class PluginTestCase(base.TestCase):

    def setUp(self):
        super().setUp()
        # The simulated host renders thousands of sysfs files: keep them
        # in memory where the machine allows it.
        shm = '/dev/shm' if os.path.isdir('/dev/shm') else None
        self.top = self.useFixture(fixtures.TempDir(rootdir=shm)).path
        self.etc = os.path.join(self.top, 'etc')
        self.nova_cpu_conf = os.path.join(self.etc, 'nova', 'nova-cpu.conf')
        os.makedirs(os.path.dirname(self.nova_cpu_conf))
        with open(self.nova_cpu_conf, 'w') as f:
            f.write('[DEFAULT]\nhost = %s\n[libvirt]\nvirt_type = kvm\n'
                    % HOST)
        self.log = os.path.join(self.top, 'stub.log')
        self.env = {
            'PATH': os.environ.get('PATH', '/usr/bin:/bin'),
            'HOME': self.top,
            'REPO': REPO, 'STUB_DIR': HERE, 'STUB_LOG': self.log,
            'STUB_BIN_DIR': os.path.dirname(sys.executable),
            'PYTHON': sys.executable,
            'DEST': os.path.join(self.top, 'opt'),
            'DATA_DIR': os.path.join(self.top, 'data'),
            'STACK_USER': str(os.getuid()),
            'NOVA_CONF_DIR': os.path.join(self.etc, 'nova'),
            'NOVA_CPU_CONF': self.nova_cpu_conf,
            'NOVA_MIG_DIR': REPO,
            'NOVA_MIG_CONF_DIR': os.path.join(self.etc, 'nova-mig'),
            'NOVA_MIG_SIMULATED': 'True',
            'NOVA_MIG_PLACEMENT': 'embedded',
            'NOVA_MIG_HYPERVISOR_HOSTNAME': HOST,
            'ENABLE_DEBUG_LOG_LEVEL': 'False',
            'KEYSTONE_SERVICE_URI': 'http://keystone.example/identity',
            'SERVICE_PASSWORD': 'secret', 'SERVICE_DOMAIN_NAME': 'Default',
            'SERVICE_PROJECT_NAME': 'service', 'REGION_NAME': 'RegionOne',
        }
        self.mig_conf = os.path.join(self.etc, 'nova-mig', 'nova-mig.conf')
        self.snippet = os.path.join(self.etc, 'nova', 'nova.conf.d',
                                    '50-nova-mig.conf')

    def run_phases(self, *phases, prefix='', **env):
        result = subprocess.run(
            ['bash', '-c', prefix + SCRIPT], cwd=self.top,
            env=dict(self.env, PHASES=' '.join(phases), **env),
            capture_output=True, text=True, timeout=300)
        return result.returncode, result.stdout, result.stderr

    def stub_calls(self, name: str) -> list[list[str]]:
        with open(self.log) as f:
            return [line.split()[1:] for line in f
                    if line.split()[0] == name]


class TestPluginPhases(PluginTestCase):

    def test_stack_on_a_simulated_host(self):
        rc, out, err = self.run_phases(
            'stack:install', 'stack:post-config', 'stack:extra',
            NOVA_MIG_LAYOUT=LAYOUT)
        self.assertEqual(0, rc, out + err)
        self.assertEqual([[REPO]], self.stub_calls('setup_develop'))

        # nova-mig.conf: the simulated host, the embedded Placement.
        conf = ini.parse(self.mig_conf)
        self.assertEqual(['simulated'], conf['gpu']['backend'])
        self.assertEqual([os.path.join(REPO, 'etc', 'nova-mig', 'hosts',
                                       'a100-mixed.yaml')],
                         conf['simulator']['host_file'])
        self.assertEqual([os.path.join(self.top, 'data', 'nova-mig')],
                         conf['host']['state_dir'])
        self.assertEqual([self.snippet], conf['nova']['config_snippet'])
        self.assertEqual([HOST], conf['nova']['hypervisor_hostname'])
        self.assertEqual(['True'], conf['placement_sync']['embedded'])
        self.assertNotIn('placement', conf)

        # The layout was applied: a checkpoint exists.
        self.assertTrue(os.path.exists(os.path.join(
            self.top, 'data', 'nova-mig', 'layout-checkpoint.json')))

        # nova-cpu.conf: its own options kept, the snippet merged in.
        cpu = ini.parse(self.nova_cpu_conf)
        snippet = ini.parse(self.snippet)
        self.assertEqual(['kvm'], cpu['libvirt']['virt_type'])
        types = snippet['devices']['enabled_mdev_types'][0].split(',')
        self.assertEqual(snippet['devices'], cpu['devices'])
        for type_id in types:
            group = 'mdev_%s' % type_id
            self.assertEqual(snippet[group], cpu[group])
            self.assertTrue(cpu[group]['mdev_class'][0].startswith(
                'CUSTOM_MIG_'))
        self.assertEqual([os.path.join(self.etc, 'nova', 'provider_config')],
                         cpu['compute']['provider_config_location'])
        self.assertTrue(os.path.exists(os.path.join(
            self.etc, 'nova', 'provider_config', 'nova-mig.yaml')))

        # stack extra created the classes and traits (embedded Placement):
        # the hook's placement row is "ok", not a warning nor a failure;
        # a simulated host has no GPU providers, so no flavors.
        self.assertRegex(out, re.compile(r'^\| placement +\| ok +\|', re.M))
        self.assertIn('no GPU providers to sync', out)
        self.assertEqual([], self.stub_calls('openstack'))
        self.assertIn('xtrace after: set +o xtrace', out)

    def test_unstack_and_clean_remove_what_stack_wrote(self):
        rc, out, err = self.run_phases('stack:install', 'stack:post-config',
                                       'unstack', 'clean')
        self.assertEqual(0, rc, out + err)
        self.assertFalse(os.path.exists(self.mig_conf))
        self.assertFalse(os.path.exists(self.snippet))
        self.assertFalse(os.path.exists(os.path.join(self.top, 'data',
                                                     'nova-mig')))
        # nova-cpu.conf belongs to devstack: clean leaves it.
        self.assertTrue(os.path.exists(self.nova_cpu_conf))

    def test_invalid_layout_dies(self):
        bad = os.path.join(self.top, 'bad.yaml')
        with open(bad, 'w') as f:
            f.write('version: 1\ngpus:\n  - select: {index: 0}\n'
                    '    gpu_instances: [9g.999gb]\n')
        rc, out, err = self.run_phases('stack:install', 'stack:post-config',
                                       NOVA_MIG_LAYOUT=bad)
        self.assertEqual(1, rc, out + err)
        self.assertIn('nova-mig layout apply %s failed' % bad, err)
        self.assertIn('9g.999gb', err)
        self.assertFalse(os.path.exists(self.snippet))

    def test_fake_nvidia_smi_selects_nvml_and_cloud_placement(self):
        """A fake ``nvidia-smi`` (a script that exits 0) stands for a GPU.

        No GPU is used: the fake only makes ``devstack/settings`` detect
        one (``command -v nvidia-smi``). What is checked is the
        configuration ``configure_nova_mig`` writes for such a host: the
        NVML backend, no simulator, and the cloud's Placement through
        Keystone instead of the embedded one. No nova-mig command runs.
        """
        bin_dir = os.path.join(self.top, 'bin')
        os.makedirs(bin_dir)
        smi = os.path.join(bin_dir, 'nvidia-smi')
        with open(smi, 'w') as f:
            f.write('#!/bin/sh\nexit 0\n')
        os.chmod(smi, 0o755)
        env = dict(self.env, PATH=bin_dir + os.pathsep + self.env['PATH'])
        del env['NOVA_MIG_SIMULATED']
        del env['NOVA_MIG_PLACEMENT']
        self.env = env
        rc, out, err = self.run_phases('stack:install',
                                       'fn:configure_nova_mig')
        self.assertEqual(0, rc, out + err)
        conf = ini.parse(self.mig_conf)
        self.assertEqual(['nvml'], conf['gpu']['backend'])
        self.assertNotIn('simulator', conf)
        self.assertEqual(['password'], conf['placement']['auth_type'])
        self.assertEqual(['http://keystone.example/identity'],
                         conf['placement']['auth_url'])
        self.assertEqual({
            'auth_type': ['password'],
            'auth_url': ['http://keystone.example/identity'],
            'username': ['placement'], 'password': ['secret'],
            'user_domain_name': ['Default'], 'project_name': ['service'],
            'project_domain_name': ['Default'],
            'region_name': ['RegionOne']}, conf['placement'])
        self.assertEqual(['False'], conf['placement_sync']['embedded'])
        # The fake is what selected NVML: without it on PATH the same
        # phases configure the simulated host.
        self.env = dict(env, PATH=os.environ.get('PATH', '/usr/bin:/bin'))
        if shutil.which('nvidia-smi', path=self.env['PATH']):
            return
        rc, out, err = self.run_phases('fn:configure_nova_mig')
        self.assertEqual(0, rc, out + err)
        self.assertEqual(['simulated'],
                         ini.parse(self.mig_conf)['gpu']['backend'])

    def test_xtrace_is_restored(self):
        rc, out, err = self.run_phases('unstack', prefix='set -o xtrace\n')
        self.assertEqual(0, rc, out + err)
        self.assertIn('xtrace after: set -o xtrace', out)
        # The library's own commands were not traced.
        self.assertNotIn('_stub_log', err.split('plugin.sh')[-1])
