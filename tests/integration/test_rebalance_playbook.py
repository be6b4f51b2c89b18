# SPDX-License-Identifier: Apache-2.0

"""playbooks/rebalance.yaml on simulated hosts, real Keystone/Placement/Nova.

Three local "hosts", each its own nova-mig configuration, state directory
and simulated a100-mixed host under a name of its own, registered in the
shared Placement as nova-compute would (``nova_mig.simulator.nova_compute``,
which is also each host's ``[retype]restart_command``) and synced
(``nova-mig sync``: the GPU model traits). ansible-playbook
runs them with a local inventory; ``openstack mig rebalance plan`` reads
Placement and the Nova API with the admin's real tokens.
"""

import json
import os
import shutil
import subprocess
import sys
import unittest
import uuid

import yaml

from nova_mig.rebalance import fleet
from nova_mig.rebalance import history
from nova_mig.simulator import nova_compute
from tests.integration import base
from tests.integration import services as services_mod

PLAYBOOK = os.path.join(services_mod.REPO, 'playbooks', 'rebalance.yaml')
GPU81 = '0000:81:00.0'
HOSTS = 3


class PlaybookTestCase(base.IntegrationTestCase):

    def setUp(self):
        super().setUp()
        self.ansible = os.path.join(os.path.dirname(sys.executable),
                                    'ansible-playbook')
        if not os.path.exists(self.ansible):
            raise unittest.SkipTest('ansible-core is not installed: pip '
                                    'install -r test-requirements.txt')
        self.run_id = uuid.uuid4().hex[:8]
        self.names = ['rb-%s-%d' % (self.run_id, i) for i in range(HOSTS)]
        self.confs = {}
        for name in self.names:
            self.confs[name] = self.make_host(name)

    def make_host(self, name: str, restart: str | None = None) -> str:
        """A simulated host registered in Placement; its config path."""
        work = os.path.join(self.tmpdir, name)
        os.makedirs(work, exist_ok=True)
        with open(base.functional_base.host_file(base.HOST_FILE)) as f:
            host = yaml.safe_load(f)
        host['hostname'] = name
        host_file = os.path.join(work, 'host.yaml')
        with open(host_file, 'w') as f:
            yaml.safe_dump(host, f)
        conf = os.path.join(work, 'nova-mig.conf')
        command = restart or ','.join([
            sys.executable, '-m', 'nova_mig.simulator.nova_compute',
            '--config-file', conf])
        with open(conf, 'w') as f:
            f.write('[gpu]\nbackend = simulated\n[host]\nstate_dir = %s\n'
                    '[simulator]\nhost_file = %s\n'
                    '[nova]\nhypervisor_hostname = %s\nconfig_snippet = %s\n'
                    'provider_config_file = %s\n%s'
                    '[retype]\nallow_restart = true\nrestart_command = %s\n'
                    'poll_interval = 0\nplacement_timeout = 60\n' % (
                        os.path.join(work, 'state'), host_file, name,
                        os.path.join(work, 'nova.conf.d', 'mig.conf'),
                        os.path.join(work, 'provider', 'mig.yaml'),
                        self.services.placement_section(), command))
        rc, out, err = self.nova_mig('nova-config', conf_file=conf)
        self.assertEqual(0, rc, out + err)
        nova_compute.restart(self.load_conf(conf))
        rc, out, err = self.nova_mig('sync', conf_file=conf)
        self.assertEqual(0, rc, out + err)
        return conf

    def inventory(self) -> str:
        venv = os.path.dirname(sys.executable)
        hosts = {name: {
            'ansible_connection': 'local',
            'ansible_python_interpreter': sys.executable,
            'nova_mig_command': [os.path.join(venv, 'nova-mig'),
                                 '--config-file', self.confs[name]],
            'nova_mig_layout_dir': os.path.dirname(self.confs[name]),
        } for name in self.names}
        path = os.path.join(self.tmpdir, 'inventory.yaml')
        with open(path, 'w') as f:
            yaml.safe_dump({'all': {
                'hosts': {'localhost': {
                    'ansible_connection': 'local',
                    'ansible_python_interpreter': sys.executable}},
                'children': {'compute': {'hosts': hosts}}}}, f)
        return path

    def env(self) -> dict[str, str]:
        venv = os.path.dirname(sys.executable)
        env = services_mod.child_env(self.services.env())
        env.update({
            'PATH': venv + os.pathsep + env.get('PATH', ''),
            'LC_ALL': 'C.UTF-8', 'ANSIBLE_NOCOLOR': '1',
            'ANSIBLE_HOME': os.path.join(self.tmpdir, 'ansible'),
            'ANSIBLE_LOCAL_TEMP': os.path.join(self.tmpdir, 'ansible-tmp'),
            'ANSIBLE_HOST_KEY_CHECKING': 'false'})
        return env

    def playbook(self, *extra: str) -> subprocess.CompletedProcess:
        targets = os.path.join(self.tmpdir, 'targets.yaml')
        with open(targets, 'w') as f:
            f.write('version: 1\ntargets:\n'
                    '  - {profile: 7g.80gb, min_free: 2}\n')
        venv = os.path.dirname(sys.executable)
        self.run_dir = os.path.join(self.tmpdir, 'run')
        argv = [self.ansible, '-i', self.inventory(), PLAYBOOK,
                '-e', 'rebalance_dir=%s' % self.run_dir,
                '-e', 'rebalance_targets=%s' % targets,
                '-e', 'rebalance_window=1h',
                '-e', json.dumps({'openstack_command': [
                    os.path.join(venv, 'openstack')]}),
                '-e', 'rebalance_include_foreign=true'] + list(extra)
        return subprocess.run(argv, env=self.env(), capture_output=True,
                              text=True, timeout=600)

    def geometry(self, name: str) -> list:
        rc, out, err = self.nova_mig('discover', '-f', 'json',
                                     conf_file=self.confs[name])
        self.assertEqual(0, rc, err)
        host = fleet.host_state(json.loads(out), name, 0)
        gpu = next(g for g in host.gpus if g.pci_address == GPU81)
        return sorted(s.profile for s in gpu.fixed + gpu.free)

    def gpu_classes(self, name: str) -> set[str]:
        client = self.admin_client(self.confs[name])
        root = client.providers(name=name)[0]
        classes = set()
        for rp in client.providers(in_tree=root['uuid']):
            if '_pci_0000_81_' in rp['name']:
                classes |= set(client.inventories(rp['uuid'])[0])
        return classes

    def test_capacity_per_host_from_the_real_cloud(self):
        proc = subprocess.run(
            [os.path.join(os.path.dirname(sys.executable), 'openstack'),
             'mig', 'capacity', 'list', '--long', '-f', 'json'],
            env=self.env(),
            capture_output=True, text=True, timeout=300)
        self.assertEqual(0, proc.returncode, proc.stderr)
        rows = [r for r in json.loads(proc.stdout)
                if r['Host'] == self.names[0]]
        self.assertEqual(
            {('1g.10gb', 'NVIDIA_A100_80GB_PCIE'), ('2g.20gb',
                                                    'NVIDIA_A100_80GB_PCIE'),
             ('3g.40gb', 'NVIDIA_A100_80GB_PCIE'),
             ('4g.40gb', 'NVIDIA_A100_80GB_PCIE')},
            {(r['Profile'], r['GPU Model']) for r in rows})
        proc = subprocess.run(
            [os.path.join(os.path.dirname(sys.executable), 'openstack'),
             'mig', 'capacity', 'list', '--window', '1h', '-f', 'json'],
            env=self.env(), capture_output=True, text=True, timeout=300)
        self.assertEqual(0, proc.returncode, proc.stderr)
        self.assertTrue(all(r['Unmet'] == 0
                            for r in json.loads(proc.stdout)))

    def test_dry_run_plans_and_changes_nothing(self):
        proc = self.playbook()
        self.assertEqual(0, proc.returncode, proc.stdout + proc.stderr)
        with open(os.path.join(self.run_dir, 'plan', 'plan.json')) as f:
            plan = json.load(f)
        ours = sorted(h for h in plan['hosts_touched']
                      if h in self.names)
        self.assertEqual(self.names[:2], ours)
        self.assertIn('would change', proc.stdout)
        for name in self.names:
            self.assertEqual(['3g.40gb', '4g.40gb'], self.geometry(name))

    def test_apply_in_batches(self):
        proc = self.playbook('-e', 'rebalance_apply=true')
        self.assertEqual(0, proc.returncode, proc.stdout + proc.stderr)
        self.assertEqual(['7g.80gb'], self.geometry(self.names[0]))
        self.assertEqual(['7g.80gb'], self.geometry(self.names[1]))
        self.assertEqual(['3g.40gb', '4g.40gb'],
                         self.geometry(self.names[2]))
        self.assertEqual({'CUSTOM_MIG_7G_80GB'},
                         self.gpu_classes(self.names[0]))
        self.assertEqual({'CUSTOM_MIG_3G_40GB', 'CUSTOM_MIG_4G_40GB'},
                         self.gpu_classes(self.names[2]))
        # The day's history names the GPUs changed and the profile grown:
        # what the next plan's per-GPU budget and demand count.
        past = history.load(os.path.join(self.run_dir, 'history'),
                            window=86400)
        self.assertEqual({(n, GPU81): 1 for n in self.names[:2]},
                         {k: v for k, v in past.today.items()
                          if k[0] in self.names})
        self.assertIn('7g.80gb', past.grown)

    def test_first_failure_stops_the_run(self):
        # The first host to change cannot restart nova-compute.
        first = self.names[0]
        shutil.rmtree(os.path.dirname(self.confs[first]))
        self.confs[first] = self.make_host(first, restart='false')
        proc = self.playbook('-e', 'rebalance_apply=true')
        self.assertNotEqual(0, proc.returncode, proc.stdout)
        self.assertIn('Per-GPU drain stopped at drain', proc.stdout)
        self.assertEqual(['3g.40gb', '4g.40gb'], self.geometry(first))
        self.assertEqual(['3g.40gb', '4g.40gb'],
                         self.geometry(self.names[1]))
