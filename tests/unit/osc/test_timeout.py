# SPDX-License-Identifier: Apache-2.0

"""The ``mig`` commands' requests have a timeout."""

import types

from nova_mig.osc import client
from nova_mig.placement import api_client
from tests import base


def _proxy(own=None, session=None, **attrs):
    return types.SimpleNamespace(
        timeout=own, session=types.SimpleNamespace(timeout=session), **attrs)


class RequestTimeoutTestCase(base.TestCase):

    def mig(self, placement, compute):
        conn = types.SimpleNamespace(placement=placement, compute=compute)
        return client.MigClient(types.SimpleNamespace(
            sdk_connection=conn))

    def test_default_without_the_clouds(self):
        placement, compute = _proxy(), _proxy(flavors=None)
        mig = self.mig(placement, compute)
        self.assertIs(placement, mig.placement.adapter)
        self.assertIs(compute, mig.compute)
        self.assertEqual(api_client.DEFAULT_TIMEOUT, placement.timeout)
        self.assertEqual(api_client.DEFAULT_TIMEOUT, compute.timeout)

    def test_the_clouds_timeout_wins(self):
        placement, compute = _proxy(session=7), _proxy(own=3, flavors=None)
        mig = self.mig(placement, compute)
        mig.placement
        mig.compute
        self.assertIsNone(placement.timeout)
        self.assertEqual(7, placement.session.timeout)
        self.assertEqual(3, compute.timeout)
