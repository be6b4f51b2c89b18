# SPDX-License-Identifier: Apache-2.0

"""Cloud-wide MIG capacity with the unmet demand beside it.

Built from :func:`nova_mig.flavor.capacity.provider_slices` rows (Placement
inventories, usages and the GPU model traits of each GPU provider) and
:class:`nova_mig.rebalance.demand.UnmetBoots`.
"""

import collections
import dataclasses
import typing

from nova_mig import naming


@dataclasses.dataclass
class ProfileLine:
    """One profile over the cloud."""

    profile: str
    resource_class: str
    models: list[str]
    hosts: int
    providers: int
    total: int
    used: int
    unmet: int

    @property
    def free(self) -> int:
        return max(self.total - self.used, 0)


@dataclasses.dataclass
class HostLine:
    """One profile on one GPU model of one host."""

    host: str
    model: str
    profile: str
    providers: int
    total: int
    used: int

    @property
    def free(self) -> int:
        return max(self.total - self.used, 0)


def model_of(traits: typing.Iterable[str], scheme: naming.Scheme) -> str:
    """The GPU model a provider's traits name, without the trait prefix."""
    prefix = scheme.model_trait_prefix()
    models = sorted(t[len(prefix):] for t in traits
                    if prefix and t.startswith(prefix))
    return ','.join(models) or 'unknown'


def by_profile(rows: list, scheme: naming.Scheme,
               unmet: dict[str, int]) -> list[ProfileLine]:
    """Per profile: models, hosts, GPU providers, total, used, unmet.

    A GPU provider is what Nova makes per vGPU parent: one per VF in mdev
    mode (one slice each), one per GPU in vendor-specific VFIO mode.

    :param rows: :class:`nova_mig.flavor.capacity.ProviderSlices`.
    :param unmet: profile -> NoValidHost boots in the window; profiles no
        provider offers get a line of their own.
    """
    groups: dict[str, list] = collections.defaultdict(list)
    for row in rows:
        groups[row.profile].append(row)
    lines = []
    for profile in sorted(set(groups) | set(unmet)):
        group = groups.get(profile, [])
        lines.append(ProfileLine(
            profile=profile,
            resource_class=(group[0].resource_class if group
                            else scheme.resource_class(profile)),
            models=sorted({model_of(r.traits, scheme) for r in group}),
            hosts=len({r.host for r in group}),
            providers=len({r.provider for r in group}),
            total=sum(r.capacity for r in group),
            used=sum(r.used for r in group),
            unmet=unmet.get(profile, 0)))
    return lines


def by_host(rows: list, scheme: naming.Scheme) -> list[HostLine]:
    """Per host, GPU model and profile."""
    groups: dict[tuple[str, str, str], list] = collections.defaultdict(list)
    for row in rows:
        groups[(row.host, model_of(row.traits, scheme),
                row.profile)].append(row)
    return [HostLine(host=host, model=model, profile=profile,
                     providers=len({r.provider for r in group}),
                     total=sum(r.capacity for r in group),
                     used=sum(r.used for r in group))
            for (host, model, profile), group in sorted(groups.items())]
