# SPDX-License-Identifier: Apache-2.0

"""A compute host for the documentation's commands, in a mount namespace.

The pages say ``/etc/nova-mig``, ``/opt/nova-mig``, ``/var/lib/nova-mig``
and a user ``nova``. Each run happens in a private mount namespace
(``unshare -m``) where ``/etc``, ``/opt``, ``/usr/local`` and ``/var/lib``
are overlays whose upper directories are kept in the test's directory, so
the machine's own files are never touched and what one run wrote the next
one sees:

* ``/etc/passwd``, ``/etc/group`` and ``/etc/shadow`` get a user and group
  ``nova`` (a free id), the service user of the pages;
* the production venv (:mod:`tests.production.base`) is bound at
  ``/opt/nova-mig``, where the pages install nova-mig;
* directories above the venv's Python that others cannot enter (pyenv
  below ``/root``) are replaced by a tmpfs holding only the way to it.

``#`` commands run as root, ``$`` commands as ``nova`` through ``setpriv``
with a clean environment (plus the test's ``OS_<GROUP>__<OPTION>``
variables, see :mod:`tests.production.test_docs`); sudo and
``/etc/sudoers`` are the machine's, so ``nova`` may run as root exactly
what a rule in ``/etc/sudoers.d`` allows.
"""

import dataclasses
import grp
import os
import pwd
import shlex
import shutil
import stat
import subprocess
import tempfile

from tests.production import docblocks

NEEDED = ('unshare', 'setpriv', 'sudo', 'mount')
OVERLAYS = ('/etc', '/opt', '/usr/local', '/var/lib')
USER = 'nova'
PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'


def usable() -> bool:
    """Root, the tools, and mount namespaces allowed."""
    if os.geteuid() != 0 or any(shutil.which(c) is None for c in NEEDED):
        return False
    return subprocess.run(['unshare', '-m', 'true'], check=False,
                          capture_output=True).returncode == 0


def _hidden_ancestors(*paths: str) -> dict[str, set[str]]:
    """Directories above ``paths`` others cannot enter, and their children."""
    hidden: dict[str, set[str]] = {}
    for path in paths:
        parts = os.path.realpath(path).split(os.sep)[1:]
        for i in range(1, len(parts)):
            d = os.sep + os.path.join(*parts[:i])
            if not os.stat(d).st_mode & stat.S_IXOTH:
                hidden.setdefault(d, set()).add(parts[i])
                break
    return hidden


def _free_id() -> int:
    taken = ({p.pw_uid for p in pwd.getpwall()} |
             {g.gr_gid for g in grp.getgrall()})
    return next(i for i in range(64060, 65000) if i not in taken)


@dataclasses.dataclass
class Result:
    command: docblocks.Command
    rc: int
    out: str
    err: str

    def __str__(self) -> str:
        return '%s %s: exit %d\nstdout:\n%s\nstderr:\n%s' % (
            '#' if self.command.user == 'root' else '$', self.command.text,
            self.rc, self.out, self.err)


class Host:
    """The namespace's persistent state, under a fresh directory."""

    def __init__(self, venv: str):
        # Outside oslotest's 0700 temporary directories: nova reads it.
        self.top = tempfile.mkdtemp(prefix='nova-mig-host-', dir='/tmp')
        os.chmod(self.top, 0o755)
        self.venv = venv
        self.runs = 0
        self.id = _free_id()
        for d in OVERLAYS:
            for part in ('upper', 'work'):
                os.makedirs(self._layer(d, part))

    def cleanup(self) -> None:
        shutil.rmtree(self.top, ignore_errors=True)

    def _layer(self, overlay: str, part: str) -> str:
        return os.path.join(self.top, part, overlay.strip('/').replace(
            '/', '_'))

    def path(self, path: str) -> str:
        """Where ``path`` of the host is, seen from outside the namespace.

        A file the namespace wrote is in an upper directory; one it never
        wrote is the machine's own.
        """
        for d in OVERLAYS:
            if path.startswith(d + '/'):
                upper = os.path.join(self._layer(d, 'upper'),
                                     os.path.relpath(path, d))
                if os.path.lexists(upper) or not os.path.lexists(path):
                    return upper
        return path

    def read(self, path: str) -> str:
        with open(self.path(path), encoding='utf-8') as f:
            return f.read()

    def write(self, path: str, text: str, mode: int = 0o644) -> None:
        """Write a file of the host between runs (as root, ``mode``)."""
        full = self.path(path)
        os.makedirs(os.path.dirname(full), exist_ok=True)
        with open(full, 'w', encoding='utf-8') as f:
            f.write(text)
        os.chmod(full, mode)

    def _setup(self) -> list[str]:
        lines = ['set -e']
        for d in OVERLAYS:
            lines.append('mount -t overlay overlay -o lowerdir=%s,upperdir='
                         '%s,workdir=%s %s' % (d, self._layer(d, 'upper'),
                                               self._layer(d, 'work'), d))
        python = os.path.realpath(os.path.join(self.venv, 'bin', 'python'))
        hidden = _hidden_ancestors(self.venv, python)
        for n, (d, children) in enumerate(sorted(hidden.items())):
            real = os.path.join(self.top, 'real', str(n))
            lines += ['mkdir -p %s' % real,
                      'mount --bind %s %s' % (d, real),
                      'mount -t tmpfs -o mode=0755 tmpfs %s' % d]
            for child in sorted(children):
                lines += ['mkdir %s' % os.path.join(d, child),
                          'mount --bind %s %s' % (os.path.join(real, child),
                                                  os.path.join(d, child))]
        lines += [
            'mkdir -p /opt/nova-mig',
            'mount --bind %s /opt/nova-mig' % self.venv,
            'if ! grep -q "^%s:" /etc/passwd; then' % USER,
            '  echo "%s:x:%d:%d:nova-mig docs test:/var/lib/nova:'
            '/usr/sbin/nologin" >>/etc/passwd' % (USER, self.id, self.id),
            '  echo "%s:x:%d:" >>/etc/group' % (USER, self.id),
            '  echo "%s:*:19000:0:99999:7:::" >>/etc/shadow' % USER,
            'fi',
            'set +e',
        ]
        return lines

    def run(self, commands: list[docblocks.Command],
            env: dict[str, str] | None = None) -> list[Result]:
        """Run ``commands`` in order, each whatever the one before did.

        :param env: variables added to the clean environment of each.
        """
        extra = ''.join('%s=%s ' % (k, shlex.quote(v))
                        for k, v in sorted((env or {}).items()))
        self.runs += 1
        base = os.path.join(self.top, 'run%d' % self.runs)
        os.mkdir(base)
        os.chmod(base, 0o755)
        lines = self._setup()
        as_user = ('setpriv --reuid=%s --regid=%s --init-groups ' % (USER,
                                                                     USER))
        for i, command in enumerate(commands):
            script = os.path.join(base, '%d.sh' % i)
            with open(script, 'w') as f:
                f.write(command.text + '\n')
            os.chmod(script, 0o644)
            prefix = as_user if command.user == 'user' else ''
            lines.append(
                'cd /tmp; %senv -i PATH=%s HOME=/tmp LANG=C.UTF-8 %ssh %s '
                '>%s.out 2>%s.err </dev/null; echo $? >%s.rc'
                % (prefix, PATH, extra, script, script, script, script))
        result = subprocess.run(
            ['unshare', '-m', '--propagation', 'private', 'bash', '-c',
             '\n'.join(lines)], capture_output=True, text=True,
            timeout=600, check=False)
        if result.returncode:
            raise AssertionError('namespace set-up failed (%d): %s%s'
                                 % (result.returncode, result.stdout,
                                    result.stderr))
        results = []
        for i, command in enumerate(commands):
            script = os.path.join(base, '%d.sh' % i)
            with open(script + '.rc') as f:
                rc = int(f.read())
            with open(script + '.out') as f:
                out = f.read()
            with open(script + '.err') as f:
                err = f.read()
            results.append(Result(command, rc, out, err))
        return results
