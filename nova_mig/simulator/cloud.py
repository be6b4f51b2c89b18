# SPDX-License-Identifier: Apache-2.0

"""The rest of the embedded cloud: instance allocations, nova-compute service.

The embedded Placement (:mod:`nova_mig.simulator.embedded_placement`) holds the
providers nova-compute would create.  A real cloud also holds, for each
instance on the host, its allocation of one vGPU on the provider of its
device's parent, and a nova-compute service record that an operator
disables before removing devices.  This module gives the simulated host
both, so that ``nova-mig reap --apply`` runs under the same checks as on a
real host:

* :func:`seed_allocations` writes the allocation of every domain of the
  simulated host that uses a vGPU (consumer = domain UUID, as Nova's);
* :class:`ComputeServices` keeps the service records in
  ``<[host]state_dir>/embedded-cloud/compute-services.json``;
  :func:`connection` returns an object with openstacksdk's
  ``compute.services()`` call over them, the one the reaper's service
  check (``nova_mig.workflows.compute_service``) makes.

``python -m nova_mig.simulator.cloud --config-file FILE service-disable``
disables the host's service, as ``openstack compute service set --disable``
would.
"""

import argparse
import collections
import dataclasses
import json
import os
import sys
import typing

from oslo_config import cfg

import nova_mig.conf
from nova_mig import fileutils
from nova_mig.model import constants
from nova_mig.placement import api_client
from nova_mig.placement import host_offer
from nova_mig.simulator import live_state
from nova_mig.simulator import simulated_host

MV_ALLOCATIONS = '1.12'
BINARY = 'nova-compute'
SERVICES_FILE = os.path.join('embedded-cloud', 'compute-services.json')


def _provider_address(state: live_state.HostState,
                      vgpu: live_state.VgpuRecord) -> str:
    if state.device_mode == constants.MODE_VENDOR_VFIO:
        return state.gpus[vgpu['gpu']]['pci_address']
    return vgpu['parent']


def seed_allocations(client: api_client.PlacementClient,
                     conf: cfg.ConfigOpts, hostname: str) -> list[str]:
    """Allocate one vGPU per device of each domain using one, once.

    :returns: the domain UUIDs whose allocations were written.
    """
    state = simulated_host.SimulatedHost.from_conf(conf).load()
    roots = client.providers(name=hostname)
    if not roots:
        return []
    by_name = {rp['name']: rp['uuid']
               for rp in client.providers(in_tree=roots[0]['uuid'])}
    by_key: dict[str, live_state.VgpuRecord] = {}
    for vgpu in state.vgpus:
        by_key[vgpu['uuid']] = vgpu
        by_key[vgpu['parent']] = vgpu
    written = []
    for domain in state.domains:
        wanted: dict[str, collections.Counter[str]] = {}
        for key in list(domain['mdevs']) + list(domain['pci_hostdevs']):
            found = by_key.get(key)
            if found is None:
                continue
            vgpu = found
            name = host_offer.provider_name(
                hostname, _provider_address(state, vgpu), state.device_mode)
            rp_uuid = by_name.get(name)
            if rp_uuid is None:
                continue
            inventories = client.inventories(rp_uuid)[0]
            if not inventories:
                continue
            rc = sorted(inventories)[0]
            wanted.setdefault(rp_uuid, collections.Counter())[rc] += 1
        if not wanted:
            continue
        consumer = domain['uuid']
        path = '/allocations/%s' % consumer
        current = client.request('GET', path, MV_ALLOCATIONS)[1] or {}
        if current.get('allocations'):
            continue
        body = {'allocations': {rp: {'resources': dict(rcs)}
                                for rp, rcs in wanted.items()},
                'project_id': 'embedded-project',
                'user_id': 'embedded-user'}
        client.request('PUT', path, MV_ALLOCATIONS, body=body,
                       ok=(204,))
        written.append(consumer)
    return written


class ServiceRecord(typing.TypedDict, total=False):
    """A service's entry in the services file (missing: the default)."""

    status: str
    disabled_reason: str | None


@dataclasses.dataclass
class Service:
    """What openstacksdk's ``compute.services()`` yields, in short."""

    host: str
    binary: str = BINARY
    status: str = 'enabled'
    disabled_reason: str | None = None
    state: str = 'up'


class ComputeServices:
    """The nova-compute service records of the embedded cloud."""

    def __init__(self, state_dir: str) -> None:
        self.path = os.path.join(state_dir, SERVICES_FILE)

    def _load(self) -> dict[str, ServiceRecord]:
        try:
            with open(self.path, encoding='utf-8') as f:
                # The file set() writes: host name -> ServiceRecord.
                records: dict[str, ServiceRecord] = json.load(f)
                return records
        except FileNotFoundError:
            return {}

    def get(self, host: str) -> Service:
        return Service(host=host, **self._load().get(host, {}))

    def set(self, host: str, enabled: bool,
            reason: str | None = None) -> Service:
        data = self._load()
        data[host] = {'status': 'enabled' if enabled else 'disabled',
                      'disabled_reason': None if enabled else reason}
        os.makedirs(os.path.dirname(self.path), exist_ok=True)
        fileutils.write_if_changed(self.path,
                                   json.dumps(data, indent=2) + '\n')
        return self.get(host)

    # openstacksdk's compute proxy, as far as nova-mig uses it.
    def services(self, binary: str | None = None,
                 host: str | None = None) -> typing.Iterator[Service]:
        names = [host] if host else sorted(self._load())
        for name in names:
            service = self.get(name)
            if binary in (None, service.binary):
                yield service

    def disable_service(self, service: Service, host: str | None = None,
                        binary: str | None = None,
                        disabled_reason: str | None = None) -> Service:
        return self.set(service.host, False, disabled_reason)

    def enable_service(self, service: Service, host: str | None = None,
                       binary: str | None = None) -> Service:
        return self.set(service.host, True)


@dataclasses.dataclass(frozen=True)
class Connection:
    """An openstacksdk-like connection, as far as nova-mig uses it."""

    compute: ComputeServices


def connection(conf: cfg.ConfigOpts) -> Connection:
    """An openstacksdk-like connection whose ``compute`` is the embedded one.

    The entry point ``embedded`` of the ``nova_mig.embedded_compute``
    namespace.
    """
    return Connection(compute=ComputeServices(conf.host.state_dir))


def main(argv: list[str] | None = None) -> int:
    """Show, disable or enable this host's nova-compute service."""
    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument('--config-file', action='append', default=[])
    parser.add_argument('action', choices=('service-show', 'service-disable',
                                           'service-enable'))
    parser.add_argument('--host', help='Default: the simulated host name.')
    parser.add_argument('--reason', default='nova-mig demo: host drained')
    args = parser.parse_args(argv)
    conf = cfg.ConfigOpts()
    nova_mig.conf.register_opts(conf)
    conf(sum((['--config-file', p] for p in args.config_file), []),
         project='nova-mig')
    host = (args.host or conf.reaper.compute_service_host or
            simulated_host.SimulatedHost.from_conf(conf).load().hostname)
    services = ComputeServices(conf.host.state_dir)
    if args.action == 'service-disable':
        service = services.set(host, False, args.reason)
    elif args.action == 'service-enable':
        service = services.set(host, True)
    else:
        service = services.get(host)
    sys.stdout.write('%s %s on %s: %s%s\n' % (
        service.binary, 'service', service.host, service.status,
        ' (%s)' % service.disabled_reason if service.disabled_reason
        else ''))
    return 0


if __name__ == '__main__':
    sys.exit(main())
