"""Write the generated Nova configuration, only when it changed.

Both files are replaced atomically. If the provider config cannot be
written after the snippet was, the snippet gets its previous content back,
so nova-compute never starts with half of a configuration.
"""

import dataclasses
import difflib
import typing

from oslo_config import cfg
from oslo_log import log as logging

from nova_mig import exception
from nova_mig import fileutils
from nova_mig.model import host as host_model
from nova_mig.novaconf import plan
from nova_mig.novaconf import render

LOG = logging.getLogger(__name__)

FILE_MODE = 0o644


@dataclasses.dataclass
class Result:
    """What ``nova-mig nova-config`` generated and did."""

    config: plan.NovaConfig
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


def plan_host(conf: cfg.ConfigOpts, report: host_model.HostReport,
              sysfs_root: str) -> plan.NovaConfig:
    """The host's Nova configuration plan, with its PCI device IDs.

    The device IDs of the vGPU parents are read from ``sysfs_root``.

    :raises: the errors of :func:`nova_mig.novaconf.plan.build`.
    """
    product_ids = plan.read_product_ids(
        sysfs_root, [p.address for p in report.parents])
    return plan.build(conf, report, product_ids, sysfs_root)


def write(config: plan.NovaConfig, report: host_model.HostReport,
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
    return _replace(config, render.render_snippet(config), snippet_path,
                    render.render_provider_config(config),
                    provider_config_path, writer or fileutils, dry_run)


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


def _replace(config: plan.NovaConfig, snippet: str, snippet_path: str,
             provider_config: str, provider_config_path: str,
             writer: Writer, dry_run: bool) -> Result:
    """Write both files when their content changed."""
    old_snippet = _read(snippet_path)
    old_provider = _read(provider_config_path)
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
    try:
        result.snippet_written = writer.write_if_changed(
            snippet_path, snippet, FILE_MODE)
    except OSError as e:
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
        raise exception.NovaConfigWriteError(path=provider_config_path,
                                             reason=reason)
    LOG.info('Nova configuration of %s: snippet %s, provider config %s',
             config.hostname,
             'written' if result.snippet_written else 'unchanged',
             'written' if result.provider_config_written else 'unchanged')
    return result


def _roll_back(writer: Writer, path: str, old: str | None) -> str:
    try:
        if old is None:
            writer.remove(path)
        else:
            writer.write_if_changed(path, old, FILE_MODE)
    except OSError as e:
        LOG.error('Could not restore %s: %s', path, e)
        return ('%s could NOT be restored (%s): fix it before restarting '
                'nova-compute' % (path, e.strerror or e))
    return '%s was restored to its previous content' % path
