# SPDX-License-Identifier: Apache-2.0

"""Write the generated Nova configuration, only when it changed.

The snippet and the provider config are one transaction.  Before either
is replaced, a journal beside the snippet (``.<snippet name>.journal``)
records the previous content of both, written atomically and fsynced;
each file is then replaced atomically, and the journal removed.  A run
that finds a journal left by a run that died rolls both files back to the
recorded content first, so after any crash the next run starts from both
old files and ends with both new ones: nova-compute never starts with half
of a configuration.  A failure (not a crash) after the snippet was written
rolls it back at once.  Until then, readers of the pair
(:func:`nova_mig.novaconf.enabled_types.read_enabled`, a dry run here) read the
journaled content.  Temporary files left by a killed run
(``.<name>.*.tmp``, older than :data:`STALE_TMP_AGE`) are removed.
"""

import dataclasses
import difflib
import json
import logging
import os
import time
import typing

from oslo_config import cfg

from nova_mig import exception
from nova_mig import fileutils
from nova_mig.model import constants
from nova_mig.model import host_records
from nova_mig.novaconf import enabled_types
from nova_mig.novaconf import release
from nova_mig.novaconf import render
from nova_mig.novaconf import type_plan

LOG = logging.getLogger(__name__)

FILE_MODE = 0o644
#: Seconds after which a temporary file of a configuration file is stale
#: (a live write takes milliseconds).
STALE_TMP_AGE = 60
JOURNAL_VERSION = 1


@dataclasses.dataclass
class Result:
    """What ``nova-mig nova-config`` generated and did."""

    config: type_plan.NovaConfig
    snippet_path: str
    snippet: str
    provider_config_path: str
    provider_config: str
    diff: str
    dry_run: bool
    snippet_changed: bool
    provider_config_changed: bool
    snippet_written: bool = False
    provider_config_written: bool = False

    @property
    def restart_needed(self) -> bool:
        """nova-compute reads both files only when it starts."""
        return self.snippet_changed or self.provider_config_changed


class Writer(typing.Protocol):
    """Writes files; :mod:`nova_mig.fileutils` is one."""

    def write_if_changed(self, path: str, content: str,
                         mode: int) -> bool:
        ...

    def remove(self, path: str) -> bool:
        ...


def plan_host(conf: cfg.ConfigOpts, report: host_records.HostReport,
              sysfs_root: str) -> type_plan.NovaConfig:
    """The host's Nova configuration plan, with its PCI device IDs.

    The device IDs of the vGPU parents are read from ``sysfs_root``.

    :raises: the errors of :func:`nova_mig.novaconf.type_plan.build`.
    """
    product_ids = type_plan.read_product_ids(
        sysfs_root, [p.address for p in report.parents])
    return for_release(conf, type_plan.build(conf, report, product_ids,
                                             sysfs_root))


def for_release(conf: cfg.ConfigOpts,
                config: type_plan.NovaConfig) -> type_plan.NovaConfig:
    """The plan without what the targeted Nova release lacks.

    The release is the installed nova package's, else ``[nova]release``
    (:mod:`nova_mig.novaconf.release`). ``[mdev_<type>]max_instances`` and
    the ``[libvirt]`` live-migration settings are left out before 2024.1,
    with a warning.

    :raises: :class:`~nova_mig.exception.NovaReleaseUnsupported` for the
        vendor-specific VFIO mode (``"managed": "no"``) before 2025.1.
    """
    used = set()
    if config.device_mode == constants.MODE_VENDOR_VFIO:
        used.add(release.PCI_MANAGED_TAG)
    if config.max_instances:
        used.add(release.MDEV_MAX_INSTANCES)
    if config.live_migration:
        used.add(release.LIBVIRT_VGPU_LIVE_MIGRATION)
    target = release.target(conf.nova.release)
    LOG.info('Nova configuration for %s', target)
    kept = release.check(target, used)
    if release.MDEV_MAX_INSTANCES in used - kept:
        config = dataclasses.replace(config, max_instances={})
    if release.LIBVIRT_VGPU_LIVE_MIGRATION in used - kept:
        config = dataclasses.replace(config, live_migration=False)
    return config


def write(config: type_plan.NovaConfig, report: host_records.HostReport,
          snippet_path: str, provider_config_path: str,
          writer: Writer | None = None, dry_run: bool = False) -> Result:
    """Check Nova's rules, render both files and write those that changed.

    The one path writing Nova's configuration: ``nova-mig nova-config``,
    the pre-start hook and the retype workflow all come here.

    :param config: the plan, see :func:`plan_host`.
    :param report: the host the plan was built from.
    :param writer: writes and removes files; defaults to
        :mod:`nova_mig.fileutils`.
    :param dry_run: compare only; write nothing.
    :raises: :class:`~nova_mig.exception.NovaConfigRuleViolation` (then
        nothing is written) and
        :class:`~nova_mig.exception.NovaConfigWriteError`; nothing is left
        half-written.
    """
    render.check_rules(config, report)
    writer = writer or fileutils
    if not dry_run:
        recover(snippet_path, provider_config_path, writer)
    return _replace(config, render.render_snippet(config), snippet_path,
                    render.render_provider_config(config),
                    provider_config_path, writer, dry_run)


#: Where the transaction's journal of a snippet lives.
journal_path = enabled_types.journal_path


def stale_temporary_files(paths: typing.Iterable[str],
                          now: float | None = None) -> list[str]:
    """Temporary files of ``paths`` older than :data:`STALE_TMP_AGE`."""
    now = time.time() if now is None else now
    stale = []
    for path in paths:
        directory, name = os.path.split(path)
        try:
            entries = os.listdir(directory)
        except OSError:
            continue
        for entry in entries:
            if not (entry.startswith('.%s.' % name) and
                    entry.endswith('.tmp')):
                continue
            full = os.path.join(directory, entry)
            try:
                if now - os.stat(full).st_mtime > STALE_TMP_AGE:
                    stale.append(full)
            except OSError:
                continue
    return sorted(stale)


def recover(snippet_path: str, provider_config_path: str,
            writer: Writer) -> list[str]:
    """Finish what a run that died left: journal and temporary files.

    :returns: the paths rolled back or removed.
    :raises: :class:`~nova_mig.exception.NovaConfigWriteError` when the
        journal cannot be read or a file cannot be restored.
    """
    done: list[str] = []
    journal = journal_path(snippet_path)
    # A snippet directory that is no directory: nothing was written there
    # (and writing the snippet says why it cannot be).
    text = (_read(journal) if os.path.isdir(os.path.dirname(journal))
            else None)
    if text is not None:
        try:
            files = json.loads(text)['files']
            restore = [(str(f['path']), f['content']) for f in files]
        except (ValueError, KeyError, TypeError) as e:
            raise exception.NovaConfigWriteError(
                path=journal, reason='unreadable journal of an interrupted '
                'write (%s); check %s and %s, then delete it' % (
                    e, snippet_path, provider_config_path))
        for path, content in restore:
            try:
                _put_back(writer, path, content)
            except OSError as e:
                raise exception.NovaConfigWriteError(
                    path=path, reason='cannot roll back an interrupted '
                    'write (%s); the journal %s still holds the previous '
                    'content' % (e.strerror or e, journal))
            done.append(path)
        _remove(writer, journal)
        LOG.warning('Rolled back %s, left half-written by an interrupted '
                    'run (journal %s)', ', '.join(done), journal)
    for stale in stale_temporary_files(
            [snippet_path, provider_config_path, journal]):
        try:
            writer.remove(stale)
        except OSError as e:
            LOG.warning('Cannot remove the stale temporary file %s: %s',
                        stale, e.strerror or e)
            continue
        LOG.info('Removed the stale temporary file %s', stale)
        done.append(stale)
    return done


def _remove(writer: Writer, path: str) -> None:
    try:
        writer.remove(path)
    except OSError as e:
        raise exception.NovaConfigWriteError(
            path=path, reason='cannot remove the journal (%s); the next run '
            'rolls the configuration back and writes it again'
            % (e.strerror or e))


def _read(path: str) -> str | None:
    try:
        return fileutils.read_text(path)
    except OSError as e:
        raise exception.NovaConfigWriteError(
            path=path,
            reason='cannot read the current file (%s)' % (e.strerror or e))


def _diff(path: str, old: str | None, new: str) -> str:
    return ''.join(difflib.unified_diff(
        (old or '').splitlines(keepends=True), new.splitlines(keepends=True),
        fromfile=path if old is not None else '/dev/null',
        tofile=path + ' (generated)'))


def _replace(config: type_plan.NovaConfig, snippet: str, snippet_path: str,
             provider_config: str, provider_config_path: str,
             writer: Writer, dry_run: bool) -> Result:
    """Write both files when their content changed.

    A dry run compares with what an interrupted write's journal recorded,
    when there is one: the pair the next write starts from.
    """
    recorded = enabled_types.journaled(snippet_path) or {}
    old_snippet, old_provider = (
        recorded[os.path.abspath(path)] if os.path.abspath(path) in recorded
        else _read(path) for path in (snippet_path, provider_config_path))
    result = Result(
        config=config, snippet_path=snippet_path, snippet=snippet,
        provider_config_path=provider_config_path,
        provider_config=provider_config,
        diff=(_diff(snippet_path, old_snippet, snippet) +
              _diff(provider_config_path, old_provider, provider_config)),
        dry_run=dry_run, snippet_changed=old_snippet != snippet,
        provider_config_changed=old_provider != provider_config)
    if dry_run:
        return result
    journal = journal_path(snippet_path)
    if result.restart_needed:
        _journal(writer, journal, [(snippet_path, old_snippet),
                                   (provider_config_path, old_provider)])
    try:
        result.snippet_written = writer.write_if_changed(
            snippet_path, snippet, FILE_MODE)
    except OSError as e:
        _forget(writer, journal)
        raise exception.NovaConfigWriteError(
            path=snippet_path, reason='%s; nothing was written'
            % (e.strerror or e))
    try:
        result.provider_config_written = writer.write_if_changed(
            provider_config_path, provider_config, FILE_MODE)
    except OSError as e:
        reason = e.strerror or str(e)
        if result.snippet_written:
            reason += '; ' + _roll_back(writer, snippet_path, old_snippet)
        else:
            _forget(writer, journal)
        raise exception.NovaConfigWriteError(path=provider_config_path,
                                             reason=reason)
    if result.restart_needed:
        _remove(writer, journal)
    LOG.info('Nova configuration of %s: snippet %s, provider config %s',
             config.hostname,
             'written' if result.snippet_written else 'unchanged',
             'written' if result.provider_config_written else 'unchanged')
    return result


def _journal(writer: Writer, journal: str,
             files: list[tuple[str, str | None]]) -> None:
    """Record, fsynced, the content both files have before the change."""
    try:
        writer.write_if_changed(journal, json.dumps({
            'version': JOURNAL_VERSION,
            'files': [{'path': path, 'content': content}
                      for path, content in files]}, indent=1) + '\n',
            FILE_MODE)
    except OSError as e:
        raise exception.NovaConfigWriteError(
            path=journal, reason='%s; nothing was written' % (e.strerror or e))


def _forget(writer: Writer, journal: str) -> None:
    """Remove the journal of a change that wrote nothing (best effort)."""
    try:
        writer.remove(journal)
    except OSError as e:
        LOG.warning('Cannot remove %s: %s; the next run removes it',
                    journal, e.strerror or e)


def _put_back(writer: Writer, path: str, content: str | None) -> None:
    """Give ``path`` its previous ``content`` (None: it did not exist)."""
    if content is None:
        writer.remove(path)
    else:
        writer.write_if_changed(path, content, FILE_MODE)


def _roll_back(writer: Writer, path: str, old: str | None) -> str:
    try:
        _put_back(writer, path, old)
    except OSError as e:
        LOG.error('Could not restore %s: %s', path, e)
        return ('%s could NOT be restored (%s): the next run of nova-mig '
                'nova-config restores it from the journal, or fix it before '
                'restarting nova-compute' % (path, e.strerror or e))
    _forget(writer, journal_path(path))
    return '%s was restored to its previous content' % path
