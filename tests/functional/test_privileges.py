# SPDX-License-Identifier: Apache-2.0

"""An unprivileged nova-mig starts its privsep daemons through sudo.

Everything happens in a private mount namespace (``unshare -m``): an
overlay over ``/etc`` (so ``/etc/sudoers.d/nova-mig`` and ``/etc/nova`` are
written into the test's directory) and a sysfs tree laid out like the
kernel's, with hostile entries (:mod:`tests.unit.privsep.fake_sysfs`),
bound over ``/sys``. The real ``/etc`` and ``/sys`` are never touched. As
root (as in CI) the namespace is set up, ``nova-mig install-sudoers``
writes the rule, then user ``nobody`` runs nova-mig: ``sudo -l`` allows
each context's exact argv and nothing appended or changed, and each
privileged entry point, through the real root daemon, refuses paths and
values outside its job.
"""

import os
import shutil
import stat
import subprocess
import sys
import tempfile
import textwrap

import testtools

from nova_mig.privsep import helper
from tests.functional import base
from tests.unit.privsep import fake_sysfs as fake

NEEDED = ('unshare', 'setpriv', 'sudo', 'mount')
SNIPPET = '/etc/nova/nova.conf.d/50-nova-mig.conf'
#: As nobody: one write through the sysfs daemon, then hostile calls to
#: every privileged entry point, one "<case> <errno>" line each.
PROBE = textwrap.dedent('''\
    from nova_mig import conf as nova_mig_conf
    from nova_mig.privsep import files
    from nova_mig.privsep import helper
    from nova_mig.privsep import nvml_calls as nvml
    from nova_mig.privsep import proc
    from nova_mig.privsep import sysfs_writes as sysfs
    from oslo_config import cfg
    import sys
    conf = cfg.ConfigOpts()
    nova_mig_conf.register_opts(conf)
    conf(['--config-file', sys.argv[1]], project='nova-mig')
    helper.use_conf(conf)
    writer = sysfs.PrivsepSysfsWriter('/sys')
    writer.set_sriov_numvfs(%(pf)r, 4)
    print('written')
    uuid = %(mdev)r
    cases = {
        'pci-dotdot': (writer.set_sriov_numvfs, '../../..', 1),
        'pci-newline': (writer.set_sriov_numvfs, %(pf)r + '\\n', 1),
        'other-vendor': (writer.set_sriov_numvfs, %(intel)r, 1),
        'device-out': (writer.set_sriov_numvfs, %(escaped)r, 1),
        'symlink-out': (writer.set_sriov_numvfs, %(linked)r, 1),
        'count-range': (writer.set_sriov_numvfs, %(pf)r, 17),
        'type-dotdot': (writer.create_mdev, %(pf)r, '../../..', uuid),
        'type-foreign': (writer.create_mdev, %(pf)r, %(foreign)r, uuid),
        'mdev-out': (writer.remove_mdev, %(escaped_mdev)r),
        'mdev-other-vendor': (writer.remove_mdev, %(intel_mdev)r),
        'vgpu-type-range': (writer.set_vgpu_type, %(vf)r, 2 ** 32),
        'nvml-uuid': (nvml.destroy_gpu_instance, 'GPU-x; reboot', 1),
        'nvml-range': (nvml.destroy_gpu_instance,
                       'GPU-a1000000-0000-4000-8000-000000000000', -1),
        'reset-argv': (nvml.reset_gpu,
                       'GPU-a1000000-0000-4000-8000-000000000000',
                       '--help'),
        'file-dotdot': (files.write_if_changed,
                        '/etc/nova/../sudoers.d/evil', 'x', 0o644),
        'mdevctl-dotdot': (files.remove_mdevctl_definition,
                           '0000:41:00.0', '../../../etc/passwd'),
    }
    for name, (func, *args) in sorted(cases.items()):
        try:
            func(*args)
            print(name, 'allowed')
        except OSError as e:
            print(name, e.errno)
    # Root's own processes are ptrace-protected from nobody: the daemon
    # reads them all (this process holds /dev/null open, not /dev/vfio).
    print('holders', sorted(proc.vfio_holders()))
    try:
        proc.vfio_holders('/etc')
        print('proc-argument allowed')
    except TypeError:
        print('proc-argument refused')
    # The four daemons, still serving this process: uid and capabilities.
    import os
    for pid in sorted(p for p in os.listdir('/proc') if p.isdigit()):
        try:
            with open('/proc/%%s/cmdline' %% pid, 'rb') as f:
                argv = f.read().decode().split('\\0')
            with open('/proc/%%s/status' %% pid) as f:
                status = dict(line.split(':', 1) for line in f)
        except OSError:
            continue
        if ('--privsep_context' in argv and
                argv[argv.index('--privsep_sock_path') + 1].startswith(
                    sys.argv[2])):
            context = argv[argv.index('--privsep_context') + 1]
            print('daemon', context, status['Uid'].split()[1],
                  status['CapEff'].strip())
''') % {
    'pf': fake.NVIDIA_PF, 'mdev': fake.MDEV, 'intel': fake.INTEL_PF,
    'escaped': fake.ESCAPED, 'linked': fake.LINKED, 'vf': fake.NVIDIA_VF,
    'foreign': fake.FOREIGN_TYPE, 'escaped_mdev': fake.ESCAPED_MDEV,
    'intel_mdev': fake.INTEL_MDEV}


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
        self.paths = fake.build(self.top)
        self.sys = self.paths['sys']
        self.numvfs = os.path.join(self.paths['pf'], 'sriov_numvfs')
        self.upper = os.path.join(self.top, 'etc-upper')
        for d in ('etc-upper', 'etc-work', 'real'):
            os.mkdir(os.path.join(self.top, d))
        self.state = state = os.path.join(self.top, 'state')
        os.mkdir(state)
        os.chmod(state, 0o777)
        self.conf_path = os.path.join(self.top, 'nova-mig.conf')
        with open(self.conf_path, 'w') as f:
            f.write('[gpu]\nbackend = simulated\n[simulator]\nhost_file = '
                    '%s\n[host]\nstate_dir = %s\n[nova]\nconfig_snippet = '
                    '%s\nprovider_config_file = /etc/nova/provider_config/'
                    'nova-mig.yaml\nhypervisor_hostname = compute-1\n'
                    % (base.host_file('a100-mixed.yaml'), state, SNIPPET))
        self.script = os.path.join(self.top, 'probe.py')
        with open(self.script, 'w') as f:
            f.write(PROBE)
        self.bin = os.path.dirname(sys.executable)

    def rule_argv(self, name: str) -> list[str]:
        """The exact argv the rule allows for context ``name``."""
        return ([os.path.join(self.bin, 'privsep-helper'), '--config-file',
                 self.conf_path] +
                ['--privsep_context', helper.pypath(name),
                 '--privsep_sock_path',
                 os.path.join(self.state, 'privsep', '%s.sock' % name)])

    def sudo_checks(self) -> dict[str, list[str]]:
        """Argvs for "sudo -n -l" as nobody: allowed or not, by name."""
        sysfs = self.rule_argv('sysfs')
        checks = {'exact-%s' % n: self.rule_argv(n)
                  for n in helper.CONTEXTS}
        checks['appended'] = sysfs + [
            '--log-config-append', '/tmp/evil.ini', '--privsep_context',
            'other.ctx']
        checks['appended-proc'] = self.rule_argv('proc') + [
            '--config-file', '/tmp/evil.conf']
        checks['other-socket'] = sysfs[:-1] + ['/tmp/x/privsep.sock']
        other = list(sysfs)
        other[other.index(helper.pypath('sysfs'))] = helper.pypath('nvml')
        checks['other-context'] = other
        checks['other-config'] = sysfs[:2] + ['/tmp/evil.conf'] + sysfs[3:]
        return checks

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
            'rc=0; %s%s %s %s %s/ >sysfs.out 2>sysfs.err '
            '|| rc=$?' % (as_nobody, os.path.join(self.bin, 'python'),
                          self.script, self.conf_path, self.state),
            'echo "sysfs exit $rc"',
        ]
        for name, argv in sorted(self.sudo_checks().items()):
            lines.append('rc=0; %ssudo -n -l %s >/dev/null 2>&1 || rc=$?; '
                         'echo "sudo %s $rc"' % (
                             as_nobody, ' '.join(argv), name))
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
        # The sysfs write landed in the tree bound over /sys.
        self.assertIn('sysfs exit 0', out, self.output('sysfs.err'))
        lines = self.output('sysfs.out').splitlines()
        self.assertEqual('written', lines[0])
        daemons = sorted(set(line for line in lines
                             if line.startswith('daemon ')))
        lines = [line for line in lines if not line.startswith('daemon ')]
        # Each daemon runs as root with its own capabilities and no more:
        # sysfs none, nvml CAP_SYS_ADMIN (21), files CAP_DAC_OVERRIDE (1)
        # and CAP_FOWNER (3), proc CAP_DAC_READ_SEARCH (2) and
        # CAP_SYS_PTRACE (19).
        self.assertEqual(
            ['daemon nova_mig.privsep.files_pctxt 0 %016x' % (1 << 1 | 1 << 3),
             'daemon nova_mig.privsep.nvml_pctxt 0 %016x' % (1 << 21),
             'daemon nova_mig.privsep.proc_pctxt 0 %016x' % (
                 1 << 2 | 1 << 19),
             'daemon nova_mig.privsep.sysfs_pctxt 0 %016x' % 0], daemons)
        # With them it read every process's descriptors (none refused,
        # root's own included) and takes no argument.
        self.assertIn('holders []', lines, self.output('sysfs.err'))
        self.assertIn('proc-argument refused', lines)
        lines = [line for line in lines if not line.startswith(
            ('holders ', 'proc-argument '))]
        with open(self.numvfs) as f:
            self.assertEqual('4', f.read())
        # Every hostile call was refused by the root daemons (EACCES), and
        # changed nothing.
        self.assertEqual(
            sorted('%s 13' % name for name in (
                'pci-dotdot', 'pci-newline', 'other-vendor', 'device-out',
                'symlink-out', 'count-range', 'type-dotdot', 'type-foreign',
                'mdev-out', 'mdev-other-vendor', 'vgpu-type-range',
                'nvml-uuid', 'nvml-range', 'reset-argv', 'file-dotdot',
                'mdevctl-dotdot')), lines[1:], self.output('sysfs.err'))
        with open(self.paths['outside']) as f:
            self.assertEqual('keep', f.read())
        self.assertIsNone(self.written('/etc/sudoers.d/evil'))
        # The rule install-sudoers wrote allows each context's exact argv
        # and nothing else: no argument appended, no other socket, context
        # or configuration file.
        rule = self.written('/etc/sudoers.d/nova-mig')
        self.assertNotIn('*', rule)
        for name in helper.CONTEXTS:
            self.assertIn('nobody ALL = (root) NOPASSWD: %s\n'
                          % ' '.join(self.rule_argv(name)), rule)
        self.assertEqual(
            ['sudo appended 1', 'sudo appended-proc 1', 'sudo exact-files 0',
             'sudo exact-nvml 0', 'sudo exact-proc 0', 'sudo exact-sysfs 0',
             'sudo other-config 1',
             'sudo other-context 1', 'sudo other-socket 1'],
            [line for line in out.splitlines() if line.startswith('sudo ')])

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
        # Without the rule, sudo allows nothing.
        self.assertEqual(
            [], [line for line in out.splitlines()
                 if line.startswith('sudo ') and not line.endswith(' 1')])
