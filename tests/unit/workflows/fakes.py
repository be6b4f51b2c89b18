# SPDX-License-Identifier: Apache-2.0

"""Fakes of the workflows tests: a clock, the Compute API's services."""

import os
import types
from unittest import mock

from nova_mig.workflows import retype
from tests import base

HOSTNAME = 'cn1'


class Clock:
    """A fake monotonic clock that ``sleep`` advances."""

    def __init__(self) -> None:
        self.now = 100.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


class FakeService:
    """A nova-compute service as openstacksdk shows it."""

    def __init__(self, host, status='enabled', reason=None):
        self.host, self.binary, self.status = host, 'nova-compute', status
        self.disabled_reason, self.state = reason, 'up'


class FakeCompute:
    """The three service calls of openstacksdk's compute proxy."""

    def __init__(self, *services, error=None):
        self.services_ = list(services)
        self.error = error
        self.calls = []

    def services(self, **query):
        self.calls.append(('services', query))
        if self.error:
            raise self.error
        return [s for s in self.services_ if s.host == query.get('host')]

    def disable_service(self, service, disabled_reason=None):
        self.calls.append(('disable', service.host, disabled_reason))
        service.status, service.disabled_reason = 'disabled', disabled_reason
        return service

    def enable_service(self, service):
        self.calls.append(('enable', service.host))
        service.status, service.disabled_reason = 'enabled', None
        return service


def conn(*services, error=None):
    """An openstacksdk connection whose compute proxy knows ``services``."""
    return mock.Mock(compute=FakeCompute(*services, error=error))


class RetypeTestCase(base.TestCase):
    """A layout file and the context of a run over a fake backend."""

    def setUp(self):
        super().setUp()
        self.backend = mock.Mock()
        self.layout = os.path.join(self.tmpdir, 'layout.yaml')
        with open(self.layout, 'w') as f:
            f.write('version: 1\ngpus: []\n')
        self.options = retype.Options(layout_path=self.layout)

    def ctx(self, **kw):
        options = retype.Options(layout_path=self.layout, **kw)
        ctx = retype.Context(conf=self.conf, backend=self.backend,
                             options=options,
                             state=retype.start(self.conf, options),
                             say=lambda line: None)
        ctx.report = lambda: types.SimpleNamespace(hostname=HOSTNAME)
        return ctx

    def state(self):
        return retype.load_state(self.conf.host.state_dir)
