# SPDX-License-Identifier: Apache-2.0

"""Fixtures running privsep entrypoints in the test process."""

import fixtures
import msgpack
from oslo_utils import importutils


class DirectPrivsepFixture(fixtures.Fixture):
    """Entrypoints of ``context`` call their body directly, as in nova."""

    def __init__(self, context):
        super().__init__()
        self.context = context

    def _setUp(self):
        self.context.set_client_mode(False)
        self.addCleanup(self.context.set_client_mode, True)


def _wire(value):
    """What survives oslo.privsep's msgpack channel (see oslo_privsep.comm)."""
    data = msgpack.packb(value, use_bin_type=True,
                         unicode_errors='surrogateescape')
    return msgpack.unpackb(data, use_list=False, raw=False,
                           strict_map_key=False,
                           unicode_errors='surrogateescape')


class _InProcessChannel:
    """A privsep client channel whose "daemon" is this process.

    It reproduces what oslo_privsep.daemon does to a call: arguments and
    result cross msgpack, the function is found by its dotted name and must
    be an entrypoint of the context, and an exception comes back as its
    class path and ``args`` and is rebuilt with ``cls(*args)``.
    """

    running = True

    def __init__(self, context):
        self.context = context
        #: Dotted names of the entrypoints called, in order.
        self.calls = []

    def remote_call(self, name, args, kwargs, timeout):
        name, args, kwargs = _wire((name, args, kwargs))
        self.calls.append(name)
        func = importutils.import_class(name)
        assert self.context.is_entrypoint(func), name
        self.context.client_mode = False
        try:
            result = ('ret', _wire(func(*args, **kwargs)))
        except Exception as e:
            cls = e.__class__
            result = ('err', '%s.%s' % (cls.__module__, cls.__name__),
                      _wire(e.args))
        finally:
            self.context.client_mode = True
        if result[0] == 'ret':
            return result[1]
        raise importutils.import_class(result[1])(*result[2])

    def close(self):
        pass


class WirePrivsepFixture(fixtures.Fixture):
    """Entrypoints of ``context`` go through a privsep-like channel.

    ``channel.calls`` lists the entrypoints called through it.
    """

    def __init__(self, context):
        super().__init__()
        self.context = context

    def _setUp(self):
        self.context.set_client_mode(True)
        old = self.context.channel
        self.channel = _InProcessChannel(self.context)
        self.context.channel = self.channel
        self.addCleanup(setattr, self.context, 'channel', old)
