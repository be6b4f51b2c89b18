# SPDX-License-Identifier: Apache-2.0

"""``openstack mig flavor create`` against ``openstack flavor create``.

Both run through ``openstackclient.shell.OpenStackShell`` as a user types
them, with the same arguments, against one in-memory cloud (the fake
Placement and compute of the other ``openstack mig`` tests, reached
through the session's openstacksdk connection as both commands reach
it): the flavors they make must agree on everything the shared options
set, and the help of each shared option must say the same thing.
"""

import io
import re
import types

import fixtures
from openstack.compute.v2 import flavor as sdk_flavor

from tests.unit.flavor import fakes
from tests.unit.osc import base
from tests.unit.osc.v1 import test_flavor

#: Options both commands have; their help must read the same once the
#: "(default ...)" is set aside (nova-mig's sizes are documented larger).
SHARED = ('<flavor-name>', '--id', '--ram', '--disk', '--vcpus', '--public',
          '--private', '--property', '--project', '--description',
          '--project-domain')
AUTH = ('--os-auth-type', 'admin_token', '--os-token', 'admin',
        '--os-endpoint', 'http://cloud.test', '--os-compute-api-version',
        '2.96')


class SdkCompute(fakes.FakeCompute):
    """The fake compute answering with openstacksdk Flavor resources."""

    def create_flavor(self, name, vcpus, ram, disk, is_public=True,
                      id=None, description=None, **unused):
        made = super().create_flavor(name, vcpus, ram, disk,
                                     is_public=is_public, id=id,
                                     description=description)
        return sdk_flavor.Flavor(
            id=made.id, name=name, vcpus=vcpus, ram=ram, disk=disk,
            is_public=is_public, description=description,
            ephemeral=unused.get('ephemeral', 0),
            swap=unused.get('swap', 0), extra_specs={})

    def create_flavor_extra_specs(self, flavor, specs):
        """What ``openstack flavor create --property`` calls."""
        self._check(('create_extra_specs', flavor.name))
        self.flavors_by_id[flavor.id].extra_specs.update(specs)
        return flavor

    def get_endpoint_data(self):
        """Compute API 2.1 to 2.96, for OSC's microversion checks."""
        return types.SimpleNamespace(min_microversion='2.1',
                                     max_microversion='2.96')

    default_microversion = '2.96'


class Identity(test_flavor.FakeIdentity):
    api_version = '3'


def help_entries(text):
    """Option (or metavar of a positional) -> its help, one line."""
    entries = {}
    current = None
    for line in text.splitlines():
        m = re.match(r'^  (-[-\w]+|<[-\w]+>)( <[^>]+>)?(\s{2,}(.*))?$',
                     line)
        if m:
            current = m.group(1)
            entries[current] = m.group(4) or ''
        elif current and re.match(r'^\s{20,}\S', line):
            entries[current] += ' ' + line.strip()
        else:
            current = None
    return entries


def words(text):
    """The words of a help text, without the "(default ...)" part."""
    return re.findall(r"[\w'.]+\b",
                      re.sub(r'\(default[^)]*\)', '', text))


class SameConventionsTestCase(base.CommandTestCase):

    def setUp(self):
        super().setUp()
        self.gpu('cn1')
        self.compute = SdkCompute()
        self.identity = Identity([('p1', 'research', 'd1'),
                                  ('p2', 'research', 'd2')],
                                 [('d1', 'Default'), ('d2', 'lab')])
        conn = types.SimpleNamespace(placement=self.placement,
                                     compute=self.compute,
                                     identity=self.identity,
                                     close=lambda: None)
        self.useFixture(fixtures.MonkeyPatch(
            'openstack.connection.Connection', lambda **kw: conn))
        for name in ('OS_CLOUD', 'OS_AUTH_URL', 'OS_USERNAME',
                     'OS_PASSWORD', 'OS_PROJECT_NAME', 'OS_TOKEN',
                     'OS_ENDPOINT', 'OS_AUTH_TYPE'):
            self.useFixture(fixtures.EnvironmentVariable(name))

    def forget_cached_clients(self):
        """OSC keeps each service's client on the ClientManager class."""
        from osc_lib import clientmanager
        for value in vars(clientmanager.ClientManager).values():
            if isinstance(value, clientmanager.ClientCache):
                value._handle = None

    def openstack(self, *argv):
        from openstackclient import shell
        self.forget_cached_clients()
        self.addCleanup(self.forget_cached_clients)
        out, err = io.StringIO(), io.StringIO()
        self.useFixture(fixtures.MonkeyPatch('sys.stdout', out))
        self.useFixture(fixtures.MonkeyPatch('sys.stderr', err))
        rc = shell.OpenStackShell().run(list(AUTH + argv))
        self.assertEqual(0, rc, 'openstack %s: %s %s' % (
            ' '.join(argv), out.getvalue(), err.getvalue()))
        return out.getvalue()

    def test_same_arguments_make_the_same_flavor(self):
        shared = ['--ram', '2048', '--disk', '10', '--vcpus', '2',
                  '--private', '--project', 'research', '--project-domain',
                  'lab', '--description', 'One 1g.10gb slice',
                  '--property', 'hw:cpu_policy=dedicated']
        self.openstack('flavor', 'create', 'core', '--id', 'f-core',
                       *shared)
        self.openstack('mig', 'flavor', 'create', 'mig', '--id', 'f-mig',
                       '--profile', '1g.10gb', *shared)
        core = self.compute.flavors_by_id['f-core']
        mig = self.compute.flavors_by_id['f-mig']

        def shape(f):
            return (f.vcpus, f.ram, f.disk, f.is_public, f.description,
                    f.projects)
        self.assertEqual((2, 2048, 10, False, 'One 1g.10gb slice', ['p2']),
                         shape(core))
        self.assertEqual(shape(core), shape(mig))
        self.assertEqual({'hw:cpu_policy': 'dedicated'}, core.extra_specs)
        self.assertEqual(
            {'hw:cpu_policy': 'dedicated', 'resources:%s' % base.RC: '1',
             'nova_mig:managed': 'true'}, mig.extra_specs)

    def test_public_is_the_default_of_both(self):
        self.openstack('flavor', 'create', 'core', '--id', 'f-core')
        self.openstack('mig', 'flavor', 'create', 'mig', '--id', 'f-mig',
                       '--profile', '1g.10gb')
        self.assertEqual([True, True],
                         [self.compute.flavors_by_id[i].is_public
                          for i in ('f-core', 'f-mig')])

    def test_shared_options_have_the_same_help(self):
        core = help_entries(self.openstack('flavor', 'create', '--help'))
        mig = help_entries(self.openstack('mig', 'flavor', 'create',
                                          '--help'))
        for option in SHARED:
            self.assertIn(option, core)
            self.assertIn(option, mig)
            theirs, ours = words(core[option]), words(mig[option])
            self.assertEqual(theirs, ours[:len(theirs)],
                             '%s: %r vs %r' % (option, core[option],
                                               mig[option]))
        self.assertIn('(default 8192M, not 256M', mig['--ram'])
