# SPDX-License-Identifier: Apache-2.0

"""What a flavor asks so that its vGPU can live-migrate.

Nova live-migrates a vGPU only to a host offering the same vGPU type:

* mdev (Nova 2024.1 and later): the target must have the same mdev type,
  which Nova leaves to the scheduler: the flavor must pin the type by
  resource class or trait on source and target. nova-mig's resource class
  names the MIG profile and each host offers one type per profile, chosen
  by the same rule everywhere; the GPU model trait pins the rest, so the
  flavor must require one.
* vendor-specific VFIO: the VF's device spec must say ``live_migratable``
  (``[nova]live_migratable`` on the host, Nova 2025.1 and later), and Nova
  tags its provider ``HW_PCI_LIVE_MIGRATABLE`` (Nova 2026.2, 34.0.0, and
  later only), which the flavor requires. Before 2026.2 no provider carries
  the trait, and only a flavor asking through the live-migratable alias
  (``pci_passthrough:alias``) gets a live-migratable VF.
"""

import typing

from nova_mig import exception
from nova_mig.flavor import slice_capacity
from nova_mig.model import constants
from nova_mig import naming


def required_traits(client: slice_capacity.PlacementApi, scheme: naming.Scheme,
                    profile: str, traits: typing.Sequence[str]
                    ) -> tuple[str, ...]:
    """The flavor's required traits, with what live migration needs.

    :param traits: the traits the flavor already requires (its GPU model).
    :raises: :class:`~nova_mig.exception.LiveMigrationUnsupported` without
        a GPU model trait, or when the profile's vendor-VFIO providers are
        not live-migratable.
    """
    model_prefix = scheme.model_trait_prefix()
    if not any(t.startswith(model_prefix) for t in traits):
        raise exception.LiveMigrationUnsupported(
            profile=profile,
            reason='require the GPU model with --model-trait; Nova moves a '
                   'vGPU only to a host offering the same vGPU type, which '
                   'the profile\'s resource class and the model trait pin '
                   'together')
    rows = [r for r in slice_capacity.provider_slices(client, scheme,
                                                      traits=True)
            if r.profile == profile]
    pci = [r for r in rows if constants.PCI_PROVIDER_TRAIT in r.traits]
    if not pci:
        return tuple(traits)
    if not any(constants.PCI_LIVE_MIGRATABLE_TRAIT in r.traits for r in pci):
        raise exception.LiveMigrationUnsupported(
            profile=profile,
            reason='its vendor-specific VFIO providers (%s) carry no '
                   'HW_PCI_LIVE_MIGRATABLE trait, which Nova reports only '
                   'from 2026.2 (34.0.0); there, set [nova]live_migratable '
                   'on those hosts, run "nova-mig nova-config" and restart '
                   'nova-compute; on 2025.1 to 2026.1 ask through the '
                   'live-migratable alias ("openstack mig alias list '
                   '--live-migratable", pci_passthrough:alias) instead'
                   % ', '.join(sorted(r.provider for r in pci)))
    return tuple(traits) + (constants.PCI_LIVE_MIGRATABLE_TRAIT,)
