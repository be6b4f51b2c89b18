# SPDX-License-Identifier: Apache-2.0

"""Tests of the libvirt qemu hook that queues released devices."""

import os
import subprocess
import sys

from nova_mig.reaper import queue
from tests import base

HOOK = os.path.join(os.path.dirname(__file__), '..', '..', '..', 'etc',
                    'libvirt', 'hooks', 'qemu')
XML = '''<domain type='kvm'><name>instance-1</name>
<uuid>0d000000-0000-4000-8000-000000000001</uuid><devices>
<hostdev mode='subsystem' type='mdev' model='vfio-pci'>
<source><address uuid='AAAAAAAA-0000-4000-8000-000000000001'/></source>
</hostdev>
<hostdev mode='subsystem' type='mdev' model='vfio-pci'>
<source><address uuid='aaaaaaaa-0000-4000-8000-000000000002'/></source>
</hostdev>
<hostdev mode='subsystem' type='pci' managed='no'><source>
<address domain='0x0000' bus='0x1b' slot='0x00' function='0x4'/>
</source></hostdev></devices></domain>'''


class TestHook(base.TestCase):

    def hook(self, *args, stdin=XML, env=None):
        env = dict(env or {'NOVA_MIG_STATE_DIR': self.tmpdir},
                   PATH=os.environ['PATH'])
        return subprocess.run([sys.executable, HOOK] + list(args),
                              input=stdin, capture_output=True, text=True,
                              env=env, timeout=30)

    def test_release_queues_every_device(self):
        proc = self.hook('instance-1', 'release', 'end', '-')
        self.assertEqual(0, proc.returncode, proc.stderr)
        q = queue.Queue(self.tmpdir)
        self.assertEqual({'aaaaaaaa-0000-4000-8000-000000000001',
                          'aaaaaaaa-0000-4000-8000-000000000002',
                          '0000:1b:00.4'}, q.peek())

    def test_other_operations_ignored(self):
        for op in ('prepare', 'start', 'started', 'stopped', 'migrate'):
            self.assertEqual(0, self.hook('instance-1', op, 'begin',
                                          '-').returncode)
        self.assertFalse(os.path.exists(os.path.join(self.tmpdir,
                                                     queue.FILE_NAME)))

    def test_bad_input_never_fails_libvirt(self):
        proc = self.hook('instance-1', 'release', 'end', '-',
                         stdin='<not xml')
        self.assertEqual(0, proc.returncode)
        self.assertIn('nova-mig qemu hook', proc.stderr)

    def test_state_dir_from_nova_mig_conf(self):
        conf = os.path.join(self.tmpdir, 'nova-mig.conf')
        target = os.path.join(self.tmpdir, 'from-conf')
        with open(conf, 'w') as f:
            f.write('[host]\nstate_dir = %s\n' % target)
        self.hook('instance-1', 'release', 'end', '-',
                  env={'NOVA_MIG_CONFIG_FILE': conf})
        self.assertEqual(3, len(queue.Queue(target).peek()))

    def test_never_calls_libvirt(self):
        with open(HOOK) as f:
            source = f.read()
        self.assertNotIn('import libvirt', source)
        self.assertNotIn('virsh', source.split('"""', 2)[2])
