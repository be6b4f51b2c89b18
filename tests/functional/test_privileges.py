"""An unprivileged nova-mig starts its privsep daemon through sudo.

Everything happens in a private mount namespace (``unshare -m``): an
overlay over ``/etc`` (so ``/etc/sudoers.d/nova-mig`` and ``/etc/nova`` are
written into the test's directory) and the simulated sysfs tree bound
over ``/sys``. The real ``/etc`` and ``/sys`` are never touched. As root
(as in CI) the namespace is set up, ``nova-mig install-sudoers`` writes the
rule, then user ``nobody`` runs nova-mig.
"""

import os
import shutil
import stat
import subprocess
import sys
import tempfile
import textwrap

import testtools

from tests.functional import base

NEEDED = ('unshare', 'setpriv', 'sudo', 'mount')
PCI = 'bus/pci/devices/0000:41:00.0'
SNIPPET = '/etc/nova/nova.conf.d/50-nova-mig.conf'
WRITE_SYSFS = textwrap.dedent('''\
    import sys
    from oslo_config import cfg
    from nova_mig import conf as nova_mig_conf
    from nova_mig.privsep import helper
    from nova_mig.privsep import sysfs
    conf = cfg.ConfigOpts()
    nova_mig_conf.register_opts(conf)
    conf(['--config-file', sys.argv[1]], project='nova-mig')
    helper.use_conf(conf)
    sysfs.PrivsepSysfsWriter('/sys').write(sys.argv[2], sys.argv[3])
    print('written')
''')


def _namespaces_work() -> bool:
    if os.geteuid() != 0 or any(shutil.which(c) is None for c in NEEDED):
        return False
    return subprocess.run(['unshare', '-m', 'true'], check=False,
                          capture_output=True).returncode == 0


def _hidden_ancestors(*paths: str) -> dict[str, set[str]]:
    """Directories above ``paths`` others cannot enter, and their children.

    pyenv's Python, or a checkout, under ``/root`` (mode 0700) cannot be
    used by ``nobody``; inside the namespace each such directory is
    replaced by a tmpfs holding only the children on the way to ``paths``.
    """
    hidden: dict[str, set[str]] = {}
    for path in paths:
        parts = os.path.realpath(path).split(os.sep)[1:]
        for i in range(1, len(parts)):
            d = os.sep + os.path.join(*parts[:i])
            if not os.stat(d).st_mode & stat.S_IXOTH:
                hidden.setdefault(d, set()).add(parts[i])
                break
    return hidden


@testtools.skipUnless(_namespaces_work(),
                      'needs root, unshare -m, setpriv, mount and sudo '
                      '(bindep.txt, test profile)')
class PrivsepThroughSudoTestCase(base.CliTestCase):

    def setUp(self):
        super().setUp()
        # Outside oslotest's 0700 temporary directories: nobody reads it.
        self.top = tempfile.mkdtemp(prefix='nova-mig-privsep-', dir='/tmp')
        self.addCleanup(shutil.rmtree, self.top, ignore_errors=True)
        os.chmod(self.top, 0o755)
        self.sys = os.path.join(self.top, 'sys')
        os.makedirs(os.path.join(self.sys, PCI))
        self.numvfs = os.path.join(self.sys, PCI, 'sriov_numvfs')
        with open(self.numvfs, 'w') as f:
            f.write('0\n')
        self.upper = os.path.join(self.top, 'etc-upper')
        for d in ('etc-upper', 'etc-work', 'real'):
            os.mkdir(os.path.join(self.top, d))
        state = os.path.join(self.top, 'state')
        os.mkdir(state)
        os.chmod(state, 0o777)
        self.conf_path = os.path.join(self.top, 'nova-mig.conf')
        with open(self.conf_path, 'w') as f:
            f.write('[gpu]\nbackend = simulated\n[simulator]\nhost_file = '
                    '%s\n[host]\nstate_dir = %s\n[nova]\nconfig_snippet = '
                    '%s\nprovider_config_file = /etc/nova/provider_config/'
                    'nova-mig.yaml\nhypervisor_hostname = compute-1\n'
                    % (base.host_file('a100-mixed.yaml'), state, SNIPPET))
        self.script = os.path.join(self.top, 'write_sysfs.py')
        with open(self.script, 'w') as f:
            f.write(WRITE_SYSFS)
        self.bin = os.path.dirname(sys.executable)

    def in_namespace(self, sudoers: bool) -> subprocess.CompletedProcess:
        """Set up the namespace as root, then run nova-mig as nobody."""
        nova_mig = os.path.join(self.bin, 'nova-mig')
        as_nobody = ('setpriv --reuid=nobody --regid=nogroup --clear-groups '
                     'env HOME=%s TMPDIR=/tmp ' % self.top)
        lines = [
            'set -e',
            'mount -t overlay overlay -o lowerdir=/etc,upperdir=%s,'
            'workdir=%s /etc' % (self.upper, os.path.join(self.top,
                                                          'etc-work')),
            'mount --bind %s /sys' % self.sys,
            'install -d -m 0755 /etc/nova /etc/sudoers.d',
            'rm -f /etc/sudoers.d/nova-mig',
        ]
        hidden = _hidden_ancestors(sys.executable, self.bin, base.REPO)
        for n, (d, children) in enumerate(sorted(hidden.items())):
            real = os.path.join(self.top, 'real', str(n))
            lines += ['mkdir -p %s' % real,
                      'mount --bind %s %s' % (d, real),
                      'mount -t tmpfs -o mode=0755 tmpfs %s' % d]
            for child in sorted(children):
                lines += ['mkdir %s' % os.path.join(d, child),
                          'mount --bind %s %s' % (os.path.join(real, child),
                                                  os.path.join(d, child))]
        if sudoers:
            lines.append('%s --config-file %s install-sudoers --user nobody'
                         % (nova_mig, self.conf_path))
        lines += [
            'cd %s' % self.top,
            'rc=0; %s%s --config-file %s nova-config >nova-config.out '
            '2>nova-config.err || rc=$?' % (as_nobody, nova_mig,
                                            self.conf_path),
            'echo "nova-config exit $rc"',
            'rc=0; %s%s %s %s /sys/%s/sriov_numvfs 4 >sysfs.out 2>sysfs.err '
            '|| rc=$?' % (as_nobody, os.path.join(self.bin, 'python'),
                          self.script, self.conf_path, PCI),
            'echo "sysfs exit $rc"',
        ]
        return subprocess.run(
            ['unshare', '-m', '--propagation', 'private', 'sh', '-c',
             '\n'.join(lines)], capture_output=True, text=True,
            timeout=120, check=False)

    def output(self, name: str) -> str:
        with open(os.path.join(self.top, name)) as f:
            return f.read()

    def written(self, path: str) -> str | None:
        """A file nova-mig wrote below /etc in the namespace, or None."""
        full = os.path.join(self.upper, os.path.relpath(path, '/etc'))
        if not os.path.exists(full):
            return None
        with open(full) as f:
            return f.read()

    def test_unprivileged_user_writes_through_privsep(self):
        result = self.in_namespace(sudoers=True)
        out = result.stdout + result.stderr
        self.assertEqual(0, result.returncode, out)
        self.assertIn('nova-config exit 0', out,
                      self.output('nova-config.err'))
        # The snippet below root-owned /etc/nova, written by the daemon.
        snippet = self.written(SNIPPET)
        self.assertIsNotNone(snippet, out)
        self.assertIn('enabled_mdev_types', snippet)
        full = os.path.join(self.upper, os.path.relpath(SNIPPET, '/etc'))
        self.assertEqual(0, os.stat(full).st_uid)
        # The sysfs write landed in the simulated tree bound over /sys.
        self.assertIn('sysfs exit 0', out, self.output('sysfs.err'))
        self.assertEqual('written\n', self.output('sysfs.out'))
        with open(self.numvfs) as f:
            # One write at offset 0, as the kernel's sysfs takes it.
            self.assertEqual('4\n', f.read())
        # The rule install-sudoers wrote is what allowed it.
        rule = self.written('/etc/sudoers.d/nova-mig')
        self.assertIn('nobody ALL = (root) NOPASSWD: %s --config-file %s '
                      '--privsep_context' % (os.path.join(
                          self.bin, 'privsep-helper'), self.conf_path), rule)

    def test_without_the_sudoers_rule_one_clear_error(self):
        result = self.in_namespace(sudoers=False)
        out = result.stdout + result.stderr
        self.assertIn('nova-config exit 1', out)
        err = self.output('nova-config.err')
        # One line: sudo's refusal and the fix, no oslo.privsep log
        # lines (CRITICAL, WARNING) before it.
        self.assertEqual(
            "nova-mig: error: Cannot start nova-mig's privileged helper "
            "(sudo -n %s --config-file %s): sudo: a password is required; "
            "privsep helper command exited non-zero (1). Running as user "
            "nobody, nova-mig starts it through sudo: allow that with "
            "\"nova-mig install-sudoers --user nobody\" (as root, with the "
            "same --config-file options), or run nova-mig as root.\n" % (
                os.path.join(self.bin, 'privsep-helper'), self.conf_path),
            err)
        self.assertNotIn('Traceback', err)
        self.assertIsNone(self.written(SNIPPET))
        # The product's sysfs writer raises the same error.
        self.assertIn('sysfs exit 1', out)
        self.assertIn('PrivsepStartFailed', self.output('sysfs.err'))
        with open(self.numvfs) as f:
            self.assertEqual('0\n', f.read())
