# SPDX-License-Identifier: Apache-2.0

"""reap, layout apply's guard and retype against the real Nova API.

The configurations have no ``[placement_sync]embedded``: nova-mig asks the
integration tier's Nova API, with the ``[placement]`` credentials of a
nova.conf, whether the host's nova-compute service is disabled, and
retype disables and enables it there. The GPUs are simulated (there is no
GPU).

No nova-compute process runs: the host's service is a row added to the
cell database, as nova-compute's first start adds it, with its last
report long ago. Nova's API then sees a service that is down, so
disabling it makes no RPC call to a compute that does not exist;
everything else (``GET /os-services``, ``PUT /os-services/{id}``, policy,
tokens) is the real API.
"""

import datetime
import os
import re
import sqlite3
import sys
import uuid

import openstack
import yaml

from nova_mig import ownership
from nova_mig.simulator import nova_compute
from tests.functional import base as functional_base
from tests.integration import base
from tests.integration import services as services_mod

#: The compute service version of the row added (Nova 2025.1 and later
#: accept it; the API only compares it with what it needs for RPC).
SERVICE_VERSION = 66
FOREIGN_A100 = '5b2f9c1e-8a43-4c6e-9d1f-2a7b3c4d5e03'
LAYOUTS = os.path.join(functional_base.REPO, 'etc', 'nova-mig', 'layouts')
ORPHAN_8C = '7e0a1c9d-4b2e-4f3a-8c5d-000000000801'


def add_compute_service(services: services_mod.OpenStackServices,
                        host: str) -> str:
    """The nova-compute service row of ``host`` in cell0; its UUID."""
    service_uuid = str(uuid.uuid4())
    long_ago = datetime.datetime(2020, 1, 1)
    db = sqlite3.connect(os.path.join(services.nova.directory,
                                      'nova_cell0.db'), timeout=30)
    try:
        with db:
            db.execute(
                'INSERT INTO services (uuid, host, binary, topic, '
                'report_count, disabled, forced_down, version, created_at, '
                'updated_at, deleted) VALUES (?, ?, ?, ?, 0, 0, 0, ?, ?, ?, '
                '0)', (service_uuid, host, 'nova-compute', 'compute',
                       SERVICE_VERSION, long_ago, long_ago))
    finally:
        db.close()
    return service_uuid


class ComputeServiceTestCase(base.IntegrationTestCase):

    def setUp(self):
        super().setUp()
        self.service_id = add_compute_service(self.services, self.hostname)
        self.conn = openstack.connect(
            load_yaml_config=False, load_envvars=False,
            auth_type='password', auth=self.services.auth(),
            region_name=services_mod.REGION, interface='public',
            compute_api_version='2.53')
        self.addCleanup(self.conn.close)

    def service(self):
        (service,) = [s for s in self.conn.compute.services(
            binary='nova-compute', host=self.hostname)]
        self.assertEqual(self.service_id, service.id)
        return service

    def disable(self) -> None:
        self.conn.compute.disable_service(self.service(),
                                          disabled_reason='test drains')
        self.assertEqual('disabled', self.service().status)

    def host_conf(self, host: str, extra: str = '') -> str:
        return self.conf_file(host=host, extra=(
            '[reaper]\ncompute_service_host = %s\n%s'
            % (self.hostname, extra)))

    def refused(self, err: str) -> None:
        self.assertIn('nova-mig: error: The nova-compute service of host %s '
                      'is enabled in the Compute API; refusing to remove '
                      'devices' % self.hostname, err)

    def nova_api_requests(self, method: str) -> list[str]:
        """The ``method`` requests to this host's service, from Nova's log."""
        with open(self.services.nova.log_path) as f:
            return re.findall(r'"%s /v2\.1/os-services/%s"' % (
                method, self.service_id), f.read())

    def test_layout_apply_guard_asks_the_nova_api(self):
        conf = self.host_conf('a100-mixed.yaml')
        layout = os.path.join(LAYOUTS, 'a100-balanced.yaml')
        foreign = os.path.join(self.tmpdir, 'state', 'simulator', 'sys',
                               'bus', 'mdev', 'devices', FOREIGN_A100)
        rc, out, err = self.nova_mig('layout', 'apply', layout,
                                     '--include-foreign', conf_file=conf)
        self.assertEqual(1, rc, out + err)
        self.refused(err)
        self.assertTrue(os.path.exists(foreign))

        self.disable()
        rc, out, err = self.nova_mig('layout', 'apply', layout,
                                     '--include-foreign', conf_file=conf)
        self.assertEqual(0, rc, out + err)
        self.assertFalse(os.path.exists(foreign))
        # Asked, not changed: the operator enables it again.
        self.assertEqual('disabled', self.service().status)

    def test_reap_asks_the_nova_api(self):
        nova_conf = os.path.join(self.tmpdir, 'nova.conf')
        with open(nova_conf, 'w') as f:
            f.write('[devices]\nenabled_mdev_types = nvidia-234\n')
        proc = os.path.join(self.tmpdir, 'proc')
        os.makedirs(os.path.join(proc, '1', 'fd'))
        conf = self.host_conf('t4-orphans.yaml', extra=(
            'grace_period = 60\nnova_config_files = %s\nproc_root = %s\n'
            % (nova_conf, proc)))
        record = ownership.OwnershipRecord(os.path.join(self.tmpdir,
                                                        'state'))
        record.add(ORPHAN_8C, created_at='2020-01-01T00:00:00+00:00')
        orphan = os.path.join(self.tmpdir, 'state', 'simulator', 'sys',
                              'bus', 'mdev', 'devices', ORPHAN_8C)
        rc, out, err = self.nova_mig('reap', '--apply',
                                     '--skip-placement-check',
                                     conf_file=conf)
        self.assertEqual(1, rc, out + err)
        self.refused(err)
        self.assertTrue(os.path.exists(orphan))

        self.disable()
        rc, out, err = self.nova_mig('reap', '--apply',
                                     '--skip-placement-check', '-f', 'json',
                                     conf_file=conf)
        self.assertEqual(0, rc, out + err)
        self.assertFalse(os.path.exists(orphan))

    def test_retype_disables_and_enables_through_the_nova_api(self):
        # The HGX B200 host after its guest was migrated away: a whole-host
        # retype refuses while a guest uses a GPU it changes.
        with open(functional_base.host_file('b200-hgx.yaml')) as f:
            host = yaml.safe_load(f)
        host['domains'] = []
        host_file = os.path.join(self.tmpdir, 'b200-no-guest.yaml')
        with open(host_file, 'w') as f:
            yaml.safe_dump(host, f)
        conf = self.host_conf(host_file, extra=(
            '[retype]\nallow_restart = true\nrestart_command = %s\n'
            'poll_interval = 0\nplacement_timeout = 60\n' % ','.join([
                sys.executable, '-m', 'nova_mig.simulator.nova_compute',
                '--config-file', os.path.join(self.tmpdir,
                                              'nova-mig.conf')])))
        # nova-compute's start: its configuration and GPU providers.
        rc, out, err = self.nova_mig('nova-config', conf_file=conf)
        self.assertEqual(0, rc, out + err)
        nova_compute.restart(self.load_conf(conf))
        self.assertEqual([], self.nova_api_requests('PUT'))

        rc, out, err = self.nova_mig(
            'retype', os.path.join(LAYOUTS, 'b200-balanced.yaml'),
            '-f', 'json', conf_file=conf)
        self.assertEqual(0, rc, out + err)
        self.assertIn('disabled nova-compute on %s' % self.hostname, err)
        # Disabled, then enabled again, through the API.
        self.assertEqual(2, len(self.nova_api_requests('PUT')))
        self.assertEqual('enabled', self.service().status)
        rc, out, err = self.nova_mig('verify', conf_file=conf)
        self.assertEqual(0, rc, out + err)
