# SPDX-License-Identifier: Apache-2.0

"""Cloud-wide ``[pci] alias`` lines for nova-api and nova-scheduler.

In vendor-specific VFIO mode each host's vGPUs are PCI devices Nova tracks
in Placement, and a flavor asks for one through a PCI alias that nova-api
and nova-scheduler read once for the whole cloud. With
``[filter_scheduler]pci_in_placement`` an alias name may have one spec
only, so the aliases match on the resource class alone and are built from
what Placement knows: every resource class of nova-mig's naming on a PCI
provider (``COMPUTE_MANAGED_PCI_DEVICE``), whatever GPU model serves it.
"""

import dataclasses
import json
import typing

from nova_mig.model import constants
from nova_mig import naming
from nova_mig.novaconf import render
from nova_mig.placement import shapes


class PlacementReader(typing.Protocol):
    """What the reader needs of a Placement client."""

    def providers(self) -> list[shapes.JsonObject]:
        ...

    def provider_traits(self, uuid: str) -> tuple[set[str], int]:
        ...

    def inventories(self, uuid: str
                    ) -> tuple[dict[str, shapes.JsonObject], int]:
        ...


@dataclasses.dataclass
class CloudAlias:
    """One alias of the cloud and the PCI providers serving it."""

    name: str
    resource_class: str
    hosts: set[str] = dataclasses.field(default_factory=set)
    providers: int = 0
    #: Providers Nova tagged HW_PCI_LIVE_MIGRATABLE (Nova 2026.2 and later
    #: only; 0 on an older Nova even where the device spec says so).
    live_migratable: int = 0

    def alias(self, live_migratable: bool | None = None) -> dict[str, str]:
        return render.pci_alias(self.name, self.resource_class,
                                live_migratable)

    def line(self, live_migratable: bool | None = None) -> str:
        """The ``alias = {...}`` line of nova.conf's ``[pci]``."""
        return 'alias = %s' % json.dumps(self.alias(live_migratable))


def alias_name(resource_class: str, scheme: naming.Scheme) -> str | None:
    """The alias name a host gives a resource class; None if not ours.

    The same names as ``nova-mig nova-config`` writes on each host:
    ``mig-1g-24gb-gfx`` for a MIG class, ``vgpu-a100d-20c`` for a
    time-sliced one.
    """
    profile = scheme.profile_of_class(resource_class)
    if profile:
        return render.alias_name_of(profile, '')
    prefix = naming.template_prefix(scheme.time_sliced_template)
    if resource_class.startswith(prefix) and len(resource_class) > len(
            prefix):
        return render.alias_name_of(None, resource_class[len(prefix):])
    return None


def cloud_aliases(client: PlacementReader,
                  scheme: naming.Scheme) -> list[CloudAlias]:
    """Every alias the cloud's vendor-VFIO hosts serve, by name.

    :raises: the client's errors (Placement unreachable, refused).
    """
    providers = client.providers()
    by_uuid = {p['uuid']: p for p in providers}
    found: dict[str, CloudAlias] = {}
    for rp in sorted(providers, key=lambda p: p['name']):
        traits, _gen = client.provider_traits(rp['uuid'])
        if constants.PCI_PROVIDER_TRAIT not in traits:
            continue
        inventories, _gen = client.inventories(rp['uuid'])
        root = by_uuid.get(rp.get('root_provider_uuid') or rp['uuid'], rp)
        for rc in sorted(inventories):
            name = alias_name(rc, scheme)
            if name is None:
                continue
            entry = found.setdefault(rc, CloudAlias(name, rc))
            entry.hosts.add(root['name'])
            entry.providers += 1
            if constants.PCI_LIVE_MIGRATABLE_TRAIT in traits:
                entry.live_migratable += 1
    return sorted(found.values(), key=lambda a: a.name)


def render_lines(aliases: list[CloudAlias],
                 live_migratable: bool | None = None) -> str:
    """The ``[pci]`` lines for nova-api and nova-scheduler."""
    lines = ['[pci]'] + [a.line(live_migratable) for a in aliases]
    lines += ['', '[filter_scheduler]', 'pci_in_placement = True']
    return '\n'.join(lines) + '\n'
