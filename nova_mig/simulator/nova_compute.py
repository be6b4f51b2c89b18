# SPDX-License-Identifier: Apache-2.0

"""A simulated nova-compute restart: Placement follows Nova's configuration.

On a real host, restarting nova-compute makes its libvirt driver report
one GPU provider per configured vGPU parent: providers of parents no
longer configured are deleted (unless they hold allocations), new ones are
created, totals follow the parents. :func:`restart` does that for a
simulated host against the Placement of ``[placement]``, reading the Nova
configuration nova-mig wrote (``[nova]config_snippet``, after
``[reaper]nova_config_files``), so workflows that restart nova-compute
(``[retype]restart_command``) can run end to end on one machine::

    [retype]
    restart_command = python3,-m,nova_mig.simulator.nova_compute,
                      --config-file,/etc/nova-mig/nova-mig.conf

(one line in the file: the option is a comma-separated list).
"""

import argparse
import dataclasses
import sys

from oslo_config import cfg

import nova_mig.conf
from nova_mig import gpu
from nova_mig.host import discovery
from nova_mig.novaconf import config_writer
from nova_mig.novaconf import enabled_types
from nova_mig.placement import api_client
from nova_mig.placement import host_offer
from nova_mig.simulator import embedded_placement

MV_DELETE = '1.14'
MV_USAGES = '1.9'


def restart(conf: cfg.ConfigOpts) -> dict[str, list[str]]:
    """Bring Placement in line with the Nova configuration on disk.

    :returns: ``created``, ``deleted``, ``updated`` and ``kept`` (in use,
        not configured) provider names.
    """
    backend = gpu.load_backend(conf)
    report = discovery.discover(backend)
    full = config_writer.plan_host(conf, report, backend.sysfs_root())
    enabled = enabled_types.read_enabled(enabled_types.config_files(conf))
    offered = [a for a in full.assignments
               if enabled.enabled(full.device_mode, a.type_id,
                                  a.address)[0]]
    config = dataclasses.replace(full, assignments=offered)
    hostname = host_offer.hypervisor_hostname(conf, config)
    wanted = host_offer.providers(config, hostname)
    client = api_client.PlacementClient.from_conf(conf)
    result: dict[str, list[str]] = {'created': [], 'deleted': [],
                                    'updated': [], 'kept': []}
    result['created'] = embedded_placement.seed(client, hostname, wanted)
    root = client.providers(name=hostname)[0]
    prefix = host_offer.provider_prefix(hostname, config.device_mode)
    for rp in client.providers(in_tree=root['uuid']):
        name = rp['name']
        if not name.startswith(prefix) or name == hostname:
            continue
        exp = wanted.get(name)
        if exp is None:
            usages = client.json(
                'GET', '/resource_providers/%s/usages' % rp['uuid'],
                MV_USAGES)['usages']
            if any(usages.values()):
                result['kept'].append(name)
                continue
            client.request('DELETE', '/resource_providers/%s' % rp['uuid'],
                           MV_DELETE, ok=(204,))
            result['deleted'].append(name)
            continue
        inventories, generation = client.inventories(rp['uuid'])
        if {rc: inv['total'] for rc, inv in inventories.items()} != {
                exp.resource_class: exp.total}:
            if exp.resource_class.startswith('CUSTOM_'):
                client.ensure_resource_class(exp.resource_class)
            client.set_inventories(
                rp['uuid'], embedded_placement._inventory(
                    {exp.resource_class: {'total': exp.total}}), generation)
            result['updated'].append(name)
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--config-file', action='append', default=[],
                        required=True)
    parser.add_argument('-v', '--verbose', action='store_true',
                        help='Print the providers created and deleted')
    args = parser.parse_args(argv)
    conf = cfg.ConfigOpts()
    nova_mig.conf.register_opts(conf)
    conf([a for path in args.config_file for a in ('--config-file', path)],
         project='nova-mig')
    result = restart(conf)
    for key, names in result.items():
        if names and args.verbose:
            sys.stdout.write('%s: %s\n' % (key, ', '.join(names)))
    return 0


if __name__ == '__main__':
    sys.exit(main())
