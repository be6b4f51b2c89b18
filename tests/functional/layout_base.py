# SPDX-License-Identifier: Apache-2.0

"""Helpers for the ``nova-mig layout`` functional tests."""

import contextlib
import os
from unittest import mock

import yaml

from nova_mig import gpu
from nova_mig.host import discovery
from nova_mig.simulator import kernel
from tests.functional import base


@contextlib.contextmanager
def refused_mdev_create():
    """The simulated kernel refuses every mdev ``create`` with ENOSPC."""
    real = kernel.SysfsWriter.write

    def write(writer, path, value):
        if path.endswith('/create'):
            raise OSError(28, 'No space left on device', path)
        return real(writer, path, value)

    with mock.patch.object(kernel.SysfsWriter, 'write', write):
        yield


class LayoutTestCase(base.CliTestCase):
    """The CLI and a backend on the same simulated host."""

    host = 'a100-mixed.yaml'

    def setUp(self):
        super().setUp()
        self.use_host(self.host, os.path.join(self.tmpdir, 'sim'))

    def use_host(self, host: str, work: str | None = None) -> None:
        work = work or self.work
        self.work = work
        state = os.path.join(self.tmpdir, 'state')
        self.flags(backend='simulated', group='gpu')
        self.flags(state_dir=state, group='host')
        path = host if os.path.isabs(host) else base.host_file(host)
        self.flags(host_file=path, work_dir=work, group='simulator')
        self.conf_file = os.path.join(self.tmpdir, 'nova-mig.conf')
        with open(self.conf_file, 'w') as f:
            f.write('[gpu]\nbackend = simulated\n[host]\nstate_dir = %s\n'
                    '[simulator]\nhost_file = %s\nwork_dir = %s\n'
                    '[placement_sync]\nembedded = true\n'
                    % (state, path, work))
        self.backend = gpu.load_backend(self.conf)

    def cli(self, *args):
        return self.nova_mig(*args, conf_file=self.conf_file)

    def write(self, name: str, document) -> str:
        path = os.path.join(self.tmpdir, name)
        with open(path, 'w') as f:
            if isinstance(document, str):
                f.write(document)
            else:
                yaml.safe_dump(document, f)
        return path

    def state(self) -> str:
        """The simulated host's live state, to prove nothing changed."""
        self.backend.host.load()
        with open(self.backend.host.state_path) as f:
            return f.read()

    def snapshot(self) -> dict:
        """GPU instances with placements and vGPU devices, comparable."""
        report = discovery.discover(self.backend)
        gpus = {}
        for g in report.as_dict()['gpus']:
            gpus[g['pci_address']] = {
                'mig': g['mig_mode'],
                'vfs': g['sriov_vfs'],
                'instances': sorted(
                    (i['profile'], i['placement_start'],
                     i['compute_instances'], i['vgpu_device'])
                    for i in g['gpu_instances'])}
        devices = sorted(
            (d['gpu'], d['uuid'] or '', d['parent'], d['type_name'])
            for d in report.vgpu_devices())
        return {'gpus': gpus, 'devices': devices}
