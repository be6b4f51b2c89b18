# SPDX-License-Identifier: Apache-2.0

"""A test case with a real PlacementClient over the in-memory Placement."""

from nova_mig import naming
from tests import base
from tests.unit.flavor import fakes

#: The resource class (and profile trait) of 1g.10gb by default.
RC = 'CUSTOM_MIG_1G_10GB'


class PlacementTestCase(base.TestCase):

    def setUp(self):
        super().setUp()
        self.api, self.client = fakes.placement_client()
        self.scheme = naming.Scheme()
