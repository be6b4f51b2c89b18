# SPDX-License-Identifier: Apache-2.0

"""Which vGPU types nova-compute offers, read from Nova's own config files.

Read with oslo.config's parser and Nova's precedence: a later file
overrides a list option of an earlier one (``[devices]
enabled_mdev_types``, ``[mdev_<type>] device_addresses``) and adds to a
multi-valued one (``[pci] device_spec``). The deprecated names
``enabled_vgpu_types`` and ``[vgpu_<type>]`` are understood too.
"""

import dataclasses
import fnmatch
import json
import logging
import os
import typing

from oslo_config import cfg
from oslo_config import iniparser

from nova_mig import bounded_input
from nova_mig.model import constants

LOG = logging.getLogger(__name__)

#: oslo.config's parser's result: section -> option -> every value given.
Sections = dict[str, dict[str, list[str]]]


def journal_path(snippet_path: str) -> str:
    """Where the journal of a write of the snippet and provider config is.

    See :mod:`nova_mig.novaconf.config_writer`.
    """
    return os.path.join(os.path.dirname(snippet_path),
                        '.%s.journal' % os.path.basename(snippet_path))


def journaled(snippet_path: str) -> dict[str, str | None] | None:
    """What an interrupted write recorded: path -> previous content.

    While the journal exists the pair may be half-written (the new
    snippet beside the old provider config); the recorded content is
    the pair nova-compute gets (the next nova-mig run that writes the
    configuration, the pre-start hook included, rolls back to it before
    writing). None when there is no journal, or it cannot be read (the
    writer then reports it).
    """
    journal = journal_path(snippet_path)
    try:
        with open(journal, encoding='utf-8') as stream:
            files = json.load(stream)['files']
        return {os.path.abspath(str(f['path'])): f['content'] for f in files
                if f['content'] is None or isinstance(f['content'], str)}
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, TypeError) as e:
        LOG.warning('Cannot read the journal %s of an interrupted write: '
                    '%s', journal, e)
        return None


def config_files(conf: cfg.ConfigOpts) -> list[str]:
    """``[reaper]nova_config_files`` then ``[nova]config_snippet``."""
    files = list(conf.reaper.nova_config_files)
    snippet = conf.nova.config_snippet
    if snippet and snippet not in files:
        files.append(snippet)
    return files


def _split(value: str) -> list[str]:
    return [item.strip() for item in value.split(',') if item.strip()]


@dataclasses.dataclass
class EnabledTypes:
    """What Nova's configuration enables."""

    files_read: list[str] = dataclasses.field(default_factory=list)
    mdev_types: list[str] = dataclasses.field(default_factory=list)
    #: type -> parent addresses of its ``[mdev_<type>]`` group.
    addresses: dict[str, list[str]] = dataclasses.field(
        default_factory=dict)
    #: ``[pci] device_spec`` entries, parsed.
    device_specs: list[dict[str, typing.Any]] = dataclasses.field(
        default_factory=list)

    def enabled(self, kind: str, type_id: str, parent: str
                ) -> tuple[bool | None, str]:
        """Whether Nova offers ``type_id`` on ``parent``.

        :returns: (True/False, or None when no file was read; a note).
        """
        if not self.files_read:
            return None, 'no Nova configuration read'
        if kind == constants.MODE_VENDOR_VFIO:
            return self._vendor_vfio(parent)
        if type_id not in self.mdev_types:
            return False, 'not in [devices]enabled_mdev_types'
        if len(self.mdev_types) == 1:
            # Nova uses the only type on every parent.
            return True, 'the only enabled type'
        if parent in self.addresses.get(type_id, ()):
            return True, 'in [mdev_%s]device_addresses' % type_id
        return False, ('enabled, but not on %s ([mdev_%s]device_addresses)'
                       % (parent, type_id))

    def _vendor_vfio(self, address: str) -> tuple[bool, str]:
        for spec in self.device_specs:
            wanted = spec.get('address')
            if wanted is None or not isinstance(wanted, str):
                # Matched by vendor/product or by an address mapping:
                # assume it may cover this VF.
                return True, 'a [pci]device_spec may match it'
            if fnmatch.fnmatch(address, wanted):
                return True, 'in [pci]device_spec'
        return False, 'in no [pci]device_spec'


def _unreadable(where: str, why: str) -> OSError:
    return OSError(why)


def read_enabled(paths: list[str]) -> EnabledTypes:
    """Read the enabled types from ``paths``; unreadable files are skipped.

    A file that exists but cannot be parsed is logged and skipped as well:
    if none is read the result says "unknown" and nothing is removed.
    """
    result = EnabledTypes()
    for path in paths:
        recorded = journaled(path) or {}
        if os.path.abspath(path) in recorded:
            # A write of the pair was interrupted: its previous content.
            content = recorded[os.path.abspath(path)]
            if content is None:
                continue
            sections: Sections = {}
            try:
                iniparser.BaseParser.parse(cfg.ConfigParser(path, sections),
                                           content.splitlines(True))
            except cfg.ParseError as e:
                LOG.warning('Cannot read Nova configuration file %s: %s',
                            path, e)
                continue
            _add(result, path, sections)
            continue
        if not os.path.exists(path):
            LOG.debug('Nova configuration file %s does not exist', path)
            continue
        sections = {}
        try:
            # A regular file of bounded size, or skipped (a FIFO would
            # hang the parser, /dev/zero fill the memory).
            bounded_input.read_input(path, _unreadable)
            cfg.ConfigParser(path, sections).parse()
        except (OSError, cfg.ParseError) as e:
            LOG.warning('Cannot read Nova configuration file %s: %s',
                        path, e)
            continue
        except UnicodeDecodeError as e:
            LOG.warning('Cannot read Nova configuration file %s: not valid '
                        'UTF-8 (byte 0x%02x at offset %d)', path,
                        e.object[e.start], e.start)
            continue
        _add(result, path, sections)
    return result


def _add(result: EnabledTypes, path: str, sections: Sections) -> None:
    """What one file's ``sections`` enable, over the earlier files."""
    result.files_read.append(path)
    devices = sections.get('devices', {})
    for name in ('enabled_vgpu_types', 'enabled_mdev_types'):
        if name in devices:
            result.mdev_types = _split(devices[name][-1])
    for section, values in sections.items():
        for prefix in ('vgpu_', 'mdev_'):
            if (section.startswith(prefix) and
                    'device_addresses' in values):
                result.addresses[section[len(prefix):]] = _split(
                    values['device_addresses'][-1])
    for raw in sections.get('pci', {}).get('device_spec', []) + \
            sections.get('pci', {}).get('passthrough_whitelist', []):
        try:
            spec = json.loads(raw)
        except ValueError:
            LOG.warning('%s: [pci]device_spec is not JSON: %s', path,
                        raw)
            spec = {}
        specs = spec if isinstance(spec, list) else [spec]
        result.device_specs += [s for s in specs if isinstance(s, dict)]
