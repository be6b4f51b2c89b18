# SPDX-License-Identifier: Apache-2.0

"""The cloud's MIG capacity read from a real Placement in a few requests.

:func:`nova_mig.rebalance.unmet_capacity.read_slices` (``GET
/allocation_candidates`` per resource class) against the per-provider
read :func:`nova_mig.flavor.slice_capacity.provider_slices`, on one mixed fleet
in an embedded openstack-placement (SQLite, loopback).
"""

import logging
import uuid

import fixtures

from nova_mig.flavor import slice_capacity
from nova_mig.model import constants
from nova_mig import naming
from nova_mig.placement import bulk
from nova_mig.rebalance import unmet_capacity
from nova_mig.simulator import embedded_placement
from tests import base

MIG1G = 'CUSTOM_MIG_1G_10GB'
MIG3G = 'CUSTOM_MIG_3G_40GB'
MIG7G = 'CUSTOM_MIG_7G_80GB'
A100 = 'CUSTOM_GPU_NVIDIA_A100_80GB_PCIE'
H100 = 'CUSTOM_GPU_NVIDIA_H100_80GB_HBM3'
ROOT = {'VCPU': {'total': 64}, 'MEMORY_MB': {'total': 4096}}


def _inventory(spec: dict) -> dict:
    return {rc: dict({'total': 1, 'reserved': 0, 'min_unit': 1,
                      'max_unit': values['total'], 'step_size': 1,
                      'allocation_ratio': 1.0}, **values)
            for rc, values in spec.items()}


def _key(row: slice_capacity.Slices) -> tuple:
    return (row.host, row.provider, row.uuid, row.profile,
            row.resource_class, row.capacity, row.used, tuple(row.traits))


class PlacementReadTestCase(base.TestCase):

    def setUp(self):
        super().setUp()
        self.server = embedded_placement.EmbeddedPlacement(self.tmpdir)
        self.server.start()
        self.addCleanup(self.server.stop)
        self.admin = self.server.client()
        self.scheme = naming.Scheme()
        for rc in (MIG1G, MIG3G, MIG7G):
            self.admin.ensure_resource_class(rc)
        for trait in (A100, H100, 'CUSTOM_MIG_3G_40GB'):
            self.admin.ensure_trait(trait)

    # -- building the fleet ---------------------------------------------------
    def provider(self, name: str, parent: str | None = None,
                 inventory: dict | None = None, traits=(),
                 used: dict | None = None) -> str:
        rp = self.admin.create_provider(name, parent=parent)
        gen = rp['generation']
        if inventory:
            gen = self.admin.set_inventories(rp['uuid'],
                                             _inventory(inventory), gen)
        if traits:
            self.admin.set_provider_traits(rp['uuid'], set(traits), gen)
        for rc, amount in (used or {}).items():
            self.admin.request(
                'PUT', '/allocations/%s' % uuid.uuid4(), '1.28',
                body={'allocations': {rp['uuid']: {
                    'resources': {rc: amount}}},
                    'project_id': 'p', 'user_id': 'u',
                    'consumer_generation': None}, ok=(204,))
        return rp['uuid']

    def mdev_host(self, name: str, model: str, slices: list[tuple],
                  root: dict | None = ROOT) -> None:
        """One provider per VF: (resource class, used 0 or 1)."""
        cn = self.provider(name, inventory=root)
        for i, (rc, used) in enumerate(slices):
            self.provider('%s_pci_0000_41_00_%d' % (name, i + 4), cn,
                          {rc: {'total': 1}}, (model,),
                          {rc: 1} if used else None)

    def mixed_fleet(self) -> None:
        # Used and free slices of several profiles on two GPU models.
        self.mdev_host('cn1', A100, [(MIG3G, 1), (MIG3G, 0), (MIG1G, 1)])
        self.mdev_host('cn2', H100, [(MIG1G, 0), (MIG1G, 0), (MIG7G, 1)])
        # Vendor-specific VFIO: one provider per PF, reserved and ratio.
        cn3 = self.provider('cn3', inventory=ROOT)
        self.provider('cn3_0000:41:00.0', cn3,
                      {MIG1G: {'total': 7, 'reserved': 1}}, (A100,),
                      {MIG1G: 3})
        self.provider('cn3_0000:81:00.0', cn3,
                      {MIG3G: {'total': 2, 'allocation_ratio': 2.0,
                               'max_unit': 4}},
                      (H100,), {MIG3G: 4})
        # Nova's VGPU class, told apart by one profile trait; and one
        # without a profile trait (time-sliced), not counted.
        cn4 = self.provider('cn4', inventory=ROOT)
        self.provider('cn4_pci_0000_41_00_4', cn4, {'VGPU': {'total': 2}},
                      ('CUSTOM_MIG_3G_40GB', A100), {'VGPU': 1})
        self.provider('cn4_pci_0000_81_00_4', cn4, {'VGPU': {'total': 4}},
                      (H100,))
        # Every slice in use, the root's memory free: a bulk request for
        # the root classes covers it.
        self.mdev_host('cn5', A100, [(MIG3G, 1), (MIG1G, 1)])
        # Every slice in use and nothing on the root: read one by one.
        self.mdev_host('cn6', H100, [(MIG7G, 1), (MIG1G, 1)], root=None)
        # No GPU at all.
        self.provider('cpu1', inventory=ROOT)

    def read(self) -> tuple[list, int]:
        client = self.server.client()
        rows = unmet_capacity.read_slices(client, self.scheme)
        return rows, client.requests

    # -- tests ----------------------------------------------------------------
    def test_equals_the_per_provider_read_on_a_mixed_fleet(self):
        self.mixed_fleet()
        fast, requests = self.read()
        slow = slice_capacity.provider_slices(
            self.server.client(), self.scheme, traits=True)
        self.assertEqual([_key(r) for r in slow], [_key(r) for r in fast])
        # What the fleet holds, so that "equal" is not "both empty".
        self.assertEqual(
            {('cn1', '1g.10gb', 1, 1), ('cn1', '3g.40gb', 2, 1),
             ('cn2', '1g.10gb', 2, 0), ('cn2', '7g.80gb', 1, 1),
             ('cn3', '1g.10gb', 6, 3), ('cn3', '3g.40gb', 4, 4),
             ('cn4', '3g.40gb', 2, 1), ('cn5', '1g.10gb', 1, 1),
             ('cn5', '3g.40gb', 1, 1), ('cn6', '1g.10gb', 1, 1),
             ('cn6', '7g.80gb', 1, 1)},
            {(h.host, h.profile, h.total, h.used)
             for h in unmet_capacity.by_host(fast, self.scheme)})
        self.assertEqual(['NVIDIA_A100_80GB_PCIE'], [
            h.model for h in unmet_capacity.by_host(fast, self.scheme)
            if h.host == 'cn4'])

    def test_requests_do_not_grow_with_the_fleet(self):
        self.mixed_fleet()
        _, before = self.read()
        # GET /resource_classes, GET /, GET /resource_providers, one
        # GET /allocation_candidates per MIG class and VGPU, then per root
        # class (MEMORY_MB covers cn5 and cpu1; cn6 has nothing free, all
        # four are asked), then cn6 one by one: its root's inventories,
        # each GPU's inventories, usages and traits.
        self.assertEqual(3 + 4 + 4 + 1 + 2 * 3, before)
        for i in range(10):
            self.mdev_host('more%d' % i, A100 if i % 2 else H100,
                           [(MIG1G, i % 2), (MIG3G, 0), (MIG7G, 1)])
        rows, after = self.read()
        self.assertEqual(before, after)
        self.assertEqual(13 + 30, len(rows))

    def test_only_free_trees_cost_nothing_more(self):
        for i in range(6):
            self.mdev_host('cn%d' % i, A100, [(MIG1G, 0), (MIG3G, 1)])
        client = self.server.client()
        # Classes, version, providers, then 1g, 3g, 7g and VGPU: every
        # tree has a free 1g slice, no root class is asked for.
        paths = [path.split('?', 1)[1] if '?' in path else path
                 for path in self.requests_of(client)]
        self.assertEqual(
            ['/resource_classes', '/', '/resource_providers',
             'resources=%s%%3A1' % MIG1G, 'resources=%s%%3A1' % MIG3G,
             'resources=%s%%3A1' % MIG7G, 'resources=VGPU%3A1'], paths)

    def requests_of(self, client) -> list[str]:
        sent = []
        real = client.adapter.request

        def request(path, method, **kwargs):
            sent.append(path)
            return real(path, method, **kwargs)
        self.useFixture(fixtures.MockPatchObject(
            client.adapter, 'request', side_effect=request))
        unmet_capacity.read_slices(client, self.scheme)
        return sent

    def test_old_placement_is_read_provider_by_provider(self):
        self.mdev_host('cn1', A100, [(MIG3G, 1), (MIG1G, 0)])
        logs = self.useFixture(fixtures.FakeLogger(
            name=bulk.__name__, level=logging.INFO))
        self.useFixture(fixtures.MockPatch(
            'nova_mig.placement.bulk.max_microversion',
            return_value=(1, 28)))
        rows, requests = self.read()
        self.assertEqual(
            [('cn1', 'cn1_pci_0000_41_00_4', MIG3G, 1, 1),
             ('cn1', 'cn1_pci_0000_41_00_5', MIG1G, 1, 0)],
            [(r.host, r.provider, r.resource_class, r.capacity, r.used)
             for r in rows])
        # Classes, providers, 3 inventories, 2 traits, 2 usages.
        self.assertEqual(1 + 1 + 3 + 2 + 2, requests)
        self.assertEqual(1, len(logs.output.splitlines()))
        self.assertIn('older than 1.29: reading it provider by provider',
                      logs.output)

    def test_vgpu_with_several_profile_traits_is_not_counted(self):
        cn = self.provider('cn', inventory=ROOT)
        self.admin.ensure_trait('CUSTOM_MIG_1G_10GB')
        self.provider('two', cn, {constants.VGPU: {'total': 2}},
                      ('CUSTOM_MIG_3G_40GB', 'CUSTOM_MIG_1G_10GB'))
        rows, _ = self.read()
        self.assertEqual([], rows)
