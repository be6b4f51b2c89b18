# SPDX-License-Identifier: Apache-2.0

"""The Nova release the generated configuration targets.

Nova gained the options nova-mig writes over several releases:
``[mdev_<type>]max_instances`` in 29.0.0 (2024.1 Caracal) and the
``"managed": "no"`` tag of ``[pci]device_spec`` (VFIO variant drivers, the
vendor-specific VFIO mode) and ``"live_migratable"`` on ``[pci]device_spec``
and alias in 31.0.0 (2025.1 Epoxy). Nova puts the ``HW_PCI_LIVE_MIGRATABLE``
trait on the providers of live-migratable PCI devices only from 34.0.0
(2026.2 Hibiscus; Nova commit 262acaff61, not in ``stable/2026.1``). An
older Nova ignores an option it does not know: without ``managed`` libvirt
would try to rebind the VF, so that configuration is refused; without
``max_instances`` the cap is only lost, so that option is left out with a
warning.

The release comes from the installed ``nova`` package when there is one,
else from ``[nova]release``, else it is the oldest supported release.
"""

import dataclasses
import importlib.metadata
import logging
import re

from nova_mig import exception

LOG = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True, order=True)
class Release:
    """One Nova release: its major version, series and name."""

    major: int
    series: str
    name: str

    def __str__(self) -> str:
        return '%s %s (%d.x)' % (self.series, self.name, self.major)


#: Nova's releases, oldest first: the keys of
#: ``nova/objects/service.py``'s ``SERVICE_VERSION_ALIASES`` from Antelope,
#: Victoria being 22.0.0 (a test reads the installed Nova and compares).
RELEASES = (
    Release(27, '2023.1', 'Antelope'),
    Release(28, '2023.2', 'Bobcat'),
    Release(29, '2024.1', 'Caracal'),
    Release(30, '2024.2', 'Dalmatian'),
    Release(31, '2025.1', 'Epoxy'),
    Release(32, '2025.2', 'Flamingo'),
    Release(33, '2026.1', 'Gazpacho'),
    Release(34, '2026.2', 'Hibiscus'),
)
_BY_MAJOR = {r.major: r for r in RELEASES}
#: The releases nova-mig supports and tests against.
OLDEST_SUPPORTED = _BY_MAJOR[29]
SUPPORTED = tuple(r for r in RELEASES if r >= OLDEST_SUPPORTED)

#: Where the release came from.
SOURCE_PACKAGE = 'installed nova package %s'
SOURCE_OPTION = '[nova]release = %s'
SOURCE_DEFAULT = ('no nova package installed and [nova]release unset: the '
                  'oldest supported release')

#: What to do with an option the target release lacks.
DROP = 'drop'
REFUSE = 'refuse'
#: ... or, for what Nova does rather than an option nova-mig writes: warn.
LACKS = 'lacks'


@dataclasses.dataclass(frozen=True)
class Feature:
    """An option or tag of the generated configuration, and its release."""

    key: str
    what: str
    since: Release
    when_missing: str
    why: str


MDEV_MAX_INSTANCES = 'mdev_max_instances'
PCI_MANAGED_TAG = 'pci_managed_tag'
PCI_LIVE_MIGRATABLE = 'pci_live_migratable'
PCI_LIVE_MIGRATABLE_TRAIT = 'pci_live_migratable_trait'
LIBVIRT_VGPU_LIVE_MIGRATION = 'libvirt_vgpu_live_migration'
PERSISTENT_MDEVS = 'persistent_mdevs'

FEATURES = {f.key: f for f in (
    Feature(PERSISTENT_MDEVS, 'persistent mdevs (libvirt node devices '
            'defined through mdevctl)', _BY_MAJOR[30], LACKS,
            'nova-compute creates transient mdevs, lost at reboot'),
    Feature(LIBVIRT_VGPU_LIVE_MIGRATION, 'the [libvirt] vGPU live-migration '
            'settings ([nova]live_migratable)', _BY_MAJOR[29], DROP,
            'an older Nova does not live-migrate vGPUs at all'),
    Feature(MDEV_MAX_INSTANCES, '[mdev_<type>]max_instances',
            _BY_MAJOR[29], DROP,
            'an older Nova ignores it, so a parent device is not capped'),
    Feature(PCI_MANAGED_TAG, 'the [pci]device_spec tag "managed": "no" '
            '(vendor-specific VFIO mode)', _BY_MAJOR[31], REFUSE,
            'an older Nova ignores the tag and libvirt would try to rebind '
            'the VF from the NVIDIA driver'),
    Feature(PCI_LIVE_MIGRATABLE, '"live_migratable" on [pci]device_spec '
            'and alias ([nova]live_migratable)', _BY_MAJOR[31], REFUSE,
            'an older Nova ignores it and refuses to live-migrate an '
            'instance with a PCI device'),
    Feature(PCI_LIVE_MIGRATABLE_TRAIT, 'HW_PCI_LIVE_MIGRATABLE trait on '
            'live-migratable PCI providers', _BY_MAJOR[34], LACKS,
            'Nova does not tag the providers, so a flavor cannot require '
            'live-migratable VFs through Placement: ask through the '
            'live-migratable alias, pci_passthrough:alias'),
)}


@dataclasses.dataclass(frozen=True)
class Target:
    """The release the configuration targets, and how it was found."""

    release: Release
    source: str

    def has(self, key: str) -> bool:
        return self.release >= FEATURES[key].since

    def __str__(self) -> str:
        return 'Nova %s, from the %s' % (self.release, self.source)


def by_major(major: int) -> Release:
    """The release of a major version; an unknown newer one is named so."""
    if major in _BY_MAJOR:
        return _BY_MAJOR[major]
    if major > RELEASES[-1].major:
        return Release(major, 'newer than %s' % RELEASES[-1].series,
                       'unknown')
    return Release(major, 'older than %s' % RELEASES[0].series, 'unknown')


def parse(value: str) -> Release:
    """A release from a series, a name or a (major) version.

    :raises: :class:`~nova_mig.exception.ConfigError` for anything else.
    """
    text = value.strip().lower()
    for r in RELEASES:
        if text in (r.series, r.name.lower()):
            return r
    m = re.fullmatch(r'(\d+)(\.\d+)*', text)
    if m and int(m.group(1)) >= 20:
        return by_major(int(m.group(1)))
    raise exception.ConfigError(
        reason='[nova]release = %s is not a Nova release; use a series, a '
               'name or a major version, one of %s'
               % (value, ', '.join('%s/%s/%d' % (r.series, r.name.lower(),
                                                 r.major)
                                   for r in SUPPORTED)))


def installed_version() -> str | None:
    """The version of the installed nova package, None without one."""
    try:
        return importlib.metadata.version('nova')
    except importlib.metadata.PackageNotFoundError:
        return None


def target(configured: str | None) -> Target:
    """The release to generate for: installed package, option, default.

    :param configured: ``[nova]release``.
    """
    version = installed_version()
    if version is not None:
        found = Target(parse(version), SOURCE_PACKAGE % version)
        if configured and parse(configured).major != found.release.major:
            LOG.warning('[nova]release = %s ignored: the installed nova '
                        'package is %s', configured, version)
        return found
    if configured:
        return Target(parse(configured), SOURCE_OPTION % configured)
    return Target(OLDEST_SUPPORTED, SOURCE_DEFAULT)


def check(target_: Target, used: set[str]) -> set[str]:
    """Which of the ``used`` features to keep for ``target_``.

    :returns: the keys of the features the release has; a dropped one is
        logged as a warning naming the release that added it.
    :raises: :class:`~nova_mig.exception.NovaReleaseUnsupported` for a
        feature the configuration cannot do without.
    """
    keep = set()
    for key in sorted(used):
        feature = FEATURES[key]
        if target_.has(key):
            keep.add(key)
            continue
        if feature.when_missing == REFUSE:
            raise exception.NovaReleaseUnsupported(
                what=feature.what, needed=feature.since,
                release=target_.release, source=target_.source,
                fix='Upgrade nova-compute, or set [nova]release if this '
                    'host runs a newer one (%s).' % feature.why)
        if feature.when_missing == LACKS:
            LOG.warning('Nova reports no %s: it needs Nova %s or later '
                        'and this host targets %s (%s).', feature.what,
                        feature.since, target_, feature.why)
            continue
        LOG.warning('Leaving out %s: it needs Nova %s or later and this '
                    'host targets %s (%s).', feature.what, feature.since,
                    target_, feature.why)
    return keep
