# SPDX-License-Identifier: Apache-2.0

"""Checks of the configuration files, made once before a command runs.

oslo.config reads a value only when it is first used, so a wrong value
would surface in the middle of a command as a raw ``LocationInfo(...)``
message, and a misspelled option would never surface at all. Every
option is read here, each error becomes one :class:`ConfigError` naming
the file and ``[group]option``, and options that nova-mig's own groups do
not define are listed for a warning.
"""

import glob
import os

from oslo_config import cfg

from nova_mig import bounded_input
import nova_mig.conf.opts
from nova_mig import exception

#: Groups not checked for unknown names: those whose options depend on a
#: plugin chosen at run time (the keystoneauth plugin of
#: ``[placement]auth_type``), and those nova.conf has too (``--config-file
#: /etc/nova/nova.conf`` passes nova's own [libvirt] options).
_OPEN_GROUPS = frozenset({'placement', 'libvirt'})


def config_files(conf_args: list[str],
                 default_files: list[str] | None = None) -> list[str]:
    """The files oslo.config reads for ``--config-file``/``--config-dir``."""
    files: list[str] = []
    pairs = zip(conf_args[::2], conf_args[1::2])
    for option, value in pairs:
        if option == '--config-file':
            files.append(value)
        elif option == '--config-dir':
            files += sorted(glob.glob(os.path.join(value, '*.conf')))
    if not files:
        files = [f for f in default_files or () if os.path.exists(f)]
    return files


def check_encoding(files: list[str]) -> None:
    """Refuse a configuration file that is not UTF-8, naming the line.

    :raises: :class:`nova_mig.exception.ConfigError`
    """
    for path in files:
        def fail(where: str, reason: str,
                 path: str = path) -> exception.ConfigError:
            return exception.ConfigError(reason='%s: %s: %s'
                                         % (path, where, reason))
        bounded_input.decode(bounded_input.read_input(path, fail), fail)


def _own_groups() -> dict[str, set[str]]:
    groups: dict[str, set[str]] = {}
    for group, options in nova_mig.conf.opts.list_opts(cloud=False):
        names = groups.setdefault(group.name, set())
        for opt in options:
            names.add(opt.dest)
            names.update(d.name for d in opt.deprecated_opts if d.name)
    return groups


def _sections(path: str) -> dict[str, dict[str, list[str]]]:
    sections: dict[str, dict[str, list[str]]] = {}
    try:
        cfg.ConfigParser(path, sections).parse()
    except (OSError, cfg.ParseError):
        return {}   # oslo.config reported it already
    return sections


def unknown_options(files: list[str]) -> list[str]:
    """``file: [group]option`` for each option nova-mig's groups lack."""
    own = _own_groups()
    found = []
    for path in files:
        for section, values in _sections(path).items():
            if section not in own or section in _OPEN_GROUPS:
                continue
            for key in values:
                if key.replace('-', '_') not in own[section]:
                    found.append('%s: [%s]%s' % (path, section, key))
    return found


def _defined_in(files: list[str], group: str, name: str) -> str | None:
    """The last of ``files`` that sets ``[group]name`` (it wins)."""
    for path in reversed(files):
        if name in _sections(path).get(group, {}):
            return path
    return None


def check_values(conf: cfg.ConfigOpts, files: list[str],
                 groups: tuple[str, ...] = ()) -> None:
    """Read every option of nova-mig's groups once.

    :param groups: groups whose registered options are read too: those
        keystoneauth registered ([placement]'s session and adapter
        options, the ``auth_section`` one's ``auth_type``).
    :raises: :class:`nova_mig.exception.ConfigError` naming the file and
        ``[group]option`` of the first value oslo.config refuses.
    """
    names = [(group.name, opt.dest)
             for group, options in nova_mig.conf.opts.list_opts(cloud=False)
             for opt in options]
    for name in groups:
        names += [(name, dest) for dest in conf[name]]
    for group_name, dest in names:
        try:
            getattr(conf[group_name], dest)
        except cfg.NoSuchOptError:
            continue    # an auth plugin's option, registered on load
        except (cfg.ConfigFileValueError, ValueError) as e:
            reason = str(e).split(' is not valid: ', 1)[-1]
            where = _defined_in(files, group_name, dest)
            raise exception.ConfigError(reason='%s[%s]%s: %s' % (
                '%s: ' % where if where else '', group_name, dest, reason))
