# SPDX-License-Identifier: Apache-2.0

"""Tests for option registration."""

import re

from oslo_config import cfg

import nova_mig.conf
from nova_mig.conf import opts
from tests import base


class TestConf(base.TestCase):

    def test_configopts_do_not_share_overrides(self):
        # An override in one ConfigOpts (as every test makes) must not
        # show through another (as the CLI builds for each run).
        other = cfg.ConfigOpts()
        nova_mig.conf.register_opts(other)
        other([], project='nova-mig')
        self.flags(state_dir='/only/here', group='host')
        self.flags(backend='simulated', group='gpu')
        self.assertEqual('/var/lib/nova-mig', other.host.state_dir)
        self.assertEqual('nvml', other.gpu.backend)

    def test_every_group_is_listed_for_the_generator(self):
        listed = {group.name for group, _ in opts.list_opts()}
        fresh = cfg.ConfigOpts()
        nova_mig.conf.register_opts(fresh)
        # register_opts and the generator see the same groups: every
        # module of nova_mig/conf, found without a list to keep.
        self.assertEqual({'gpu', 'hook', 'host', 'libvirt', 'naming', 'nova',
                          'nova_mig_privsep', 'placement', 'placement_sync',
                          'reaper', 'retype', 'simulator'}, listed)
        oslo_own = {'config_source', 'shell_completion'}
        self.assertEqual(listed, set(fresh) - oslo_own)

    def test_every_option_is_registered(self):
        for group, options in opts.list_opts():
            if group.name == 'placement':
                continue    # keystoneauth's, registered per auth plugin
            for opt in options:
                self.assertIn(opt.dest, self.conf[group.name],
                              '[%s]%s' % (group.name, opt.name))

    def test_option_module_without_functions_is_refused(self):
        error = self.assertRaises(RuntimeError, opts._import_modules,
                                  ['utils'])
        self.assertIn('nova_mig.conf.utils defines no list_opts()',
                      str(error))

    def test_every_option_has_help(self):
        for group, options in opts.list_opts():
            if group.name == 'placement':
                continue    # keystoneauth's own options
            for opt in options:
                self.assertTrue(opt.help and len(opt.help) > 20,
                                '[%s]%s' % (group.name, opt.name))
                self.assertRegex(opt.name, re.compile(r'^[a-z][a-z0-9_-]*$'))
