# SPDX-License-Identifier: Apache-2.0

"""Create, update and list the Nova flavors asking for one MIG slice.

The functions take an openstacksdk compute proxy (``conn.compute``, which
is what ``openstack`` itself uses). A flavor nova-mig creates carries the
extra spec ``nova_mig:managed=true`` (Nova validates only the namespaces
it knows, so the key is accepted); nova-mig changes no other flavor unless
told to (``force``), and then marks it as its own.

Nova cannot change a flavor's vCPUs, RAM or disk, so an existing flavor
only gets its extra specs updated; asking for other sizes is an error.
"""

import collections.abc
import dataclasses
import logging
import typing

from keystoneauth1 import exceptions as ks_exc
from openstack import exceptions as sdk_exc

from nova_mig import exception
from nova_mig.model import constants
from nova_mig import naming

LOG = logging.getLogger(__name__)

#: Nova validates extra specs from this microversion on (Zed and later):
#: a typo is refused when the flavor is made, not when an instance boots.
MV_EXTRA_SPEC_VALIDATION = '2.86'

#: The sizes of a new flavor when none is given. ``openstack flavor
#: create`` defaults to 1 vCPU, 256 MB and 0 GB: too small for a guest that
#: loads NVIDIA's vGPU guest driver (it needs about 2 GB of RAM) and runs a
#: CUDA workload from its root disk.
DEFAULT_VCPUS = 4
DEFAULT_RAM_MB = 8192
DEFAULT_DISK_GB = 20

CREATED = 'created'
UPDATED = 'updated'
UNCHANGED = 'unchanged'
REFUSED = 'refused'
NOT_OFFERED = 'not offered'


#: An openstacksdk compute proxy (``conn.compute``); the SDK is untyped.
Compute = typing.Any
_T = typing.TypeVar('_T')


class Flavor(typing.Protocol):
    """What nova-mig reads of an openstacksdk ``Flavor``."""

    name: str
    id: str
    vcpus: int
    ram: int
    disk: int
    extra_specs: dict[str, str] | None


@dataclasses.dataclass
class FlavorSpec:
    """The flavor wanted for one profile.

    ``vcpus``, ``ram`` and ``disk`` None mean "the defaults for a new
    flavor, whatever an existing one has".
    """

    profile: str
    name: str
    vcpus: int | None = None
    ram: int | None = None
    disk: int | None = None
    properties: dict[str, str] = dataclasses.field(default_factory=dict)
    traits: tuple[str, ...] = ()
    is_public: bool = True
    #: Of a new flavor only: its ID (Nova picks one when None), its
    #: description (compute API 2.55) and the projects given access to it
    #: when it is private.
    flavor_id: str | None = None
    description: str | None = None
    project_ids: tuple[str, ...] = ()

    def extra_specs(self, scheme: naming.Scheme) -> dict[str, str]:
        specs = dict(self.properties)
        specs.update(scheme.extra_specs(self.profile, self.traits))
        return specs


@dataclasses.dataclass
class FlavorRow:
    """A flavor asking for MIG resources, and what a command did to it."""

    name: str
    id: str | None
    profile: str | None
    vcpus: int | None
    ram: int | None
    disk: int | None
    extra_specs: dict[str, str]
    managed: bool
    status: str = UNCHANGED
    is_public: bool | None = None
    description: str | None = None
    #: Extra specs set (added or changed) and removed, or that would be.
    set_specs: dict[str, str] = dataclasses.field(default_factory=dict)
    removed_specs: list[str] = dataclasses.field(default_factory=list)
    reason: str = ''

    @classmethod
    def of(cls, flavor: Flavor, scheme: naming.Scheme,
           **kwargs: typing.Any) -> 'FlavorRow':
        specs = dict(flavor.extra_specs or {})
        kwargs.setdefault('is_public', getattr(flavor, 'is_public', None))
        kwargs.setdefault('description',
                          getattr(flavor, 'description', None))
        return cls(name=flavor.name, id=flavor.id,
                   profile=scheme.profile_of_specs(specs),
                   vcpus=flavor.vcpus, ram=flavor.ram, disk=flavor.disk,
                   extra_specs=specs, managed=naming.is_managed(specs),
                   **kwargs)

    @property
    def resources(self) -> dict[str, str]:
        return {m['rc']: v for k, v in self.extra_specs.items()
                for m in [naming.RESOURCES_KEY_RE.match(k)] if m}

    @property
    def traits(self) -> dict[str, str]:
        return {m['trait']: v for k, v in self.extra_specs.items()
                for m in [naming.TRAIT_KEY_RE.match(k)] if m}


def compute_call(action: str, fn: collections.abc.Callable[..., _T],
                 *args: typing.Any, **kwargs: typing.Any) -> _T:
    """Call the compute proxy; map its failures to nova-mig exceptions.

    :raises: :class:`nova_mig.exception.AdminRequired` on HTTP 403,
        :class:`nova_mig.exception.CloudUnreachable`,
        :class:`nova_mig.exception.ComputeRequestFailed` otherwise.
    """
    try:
        return fn(*args, **kwargs)
    except sdk_exc.HttpException as e:
        if e.status_code == 403:
            raise exception.AdminRequired(service='Nova', action=action)
        reason = (e.details or e.message or str(e)).strip()
        raise exception.ComputeRequestFailed(
            action=action, status=e.status_code or '-',
            reason=reason.splitlines()[0] if reason else '-')
    except (ks_exc.ClientException, sdk_exc.SDKException) as e:
        raise exception.CloudUnreachable(
            service='Nova', action=action, reason=exception.url_reason(e))


def set_extra_specs(compute: Compute, flavor: Flavor,
                    specs: dict[str, str]) -> None:
    """POST the extra specs at microversion 2.86, so Nova validates them."""
    def post() -> None:
        resp = compute.post('/flavors/%s/os-extra_specs' % flavor.id,
                            json={'extra_specs': specs},
                            microversion=MV_EXTRA_SPEC_VALIDATION)
        sdk_exc.raise_from_response(resp)
    compute_call('setting the extra specs of flavor %s' % flavor.name, post)


def all_flavors(compute: Compute) -> list[Flavor]:
    """Every flavor, public or not, with its extra specs."""
    flavors = list(compute_call('listing flavors', compute.flavors,
                                details=True, is_public='None'))
    for i, flavor in enumerate(flavors):
        if flavor.extra_specs is None:
            flavors[i] = compute_call(
                'reading the extra specs of flavor %s' % flavor.name,
                compute.fetch_flavor_extra_specs, flavor)
    return flavors


def mig_flavors(compute: Compute, scheme: naming.Scheme,
                flavors: list[Flavor] | None = None) -> list[FlavorRow]:
    """The flavors asking for a MIG profile, by name."""
    if flavors is None:
        flavors = all_flavors(compute)
    rows = [FlavorRow.of(f, scheme) for f in flavors]
    return sorted((r for r in rows if r.profile), key=lambda r: r.name)


def _stale_keys(scheme: naming.Scheme, specs: dict[str, str],
                wanted: dict[str, str]) -> list[str]:
    """Keys asking for MIG resources or GPU traits that are not wanted."""
    model_prefix = scheme.model_trait_prefix()
    stale = []
    for key in specs:
        if key in wanted:
            continue
        rc = naming.RESOURCES_KEY_RE.match(key)
        trait = naming.TRAIT_KEY_RE.match(key)
        if rc and (rc['rc'] == constants.VGPU or
                   scheme.profile_of_class(rc['rc'])):
            stale.append(key)
        elif trait and (scheme.profile_of_trait(trait['trait']) or
                        trait['trait'].startswith(model_prefix)):
            stale.append(key)
    return sorted(stale)


def _check_existing(flavor: Flavor, row: FlavorRow, spec: FlavorSpec,
                    force: bool) -> None:
    if not row.managed and not force:
        raise exception.FlavorNotManaged(name=flavor.name, id=flavor.id,
                                         mark=naming.MANAGED_KEY)
    want = {'vcpus': spec.vcpus, 'ram': spec.ram, 'disk': spec.disk,
            'id': spec.flavor_id}
    have = {'vcpus': flavor.vcpus, 'ram': flavor.ram, 'disk': flavor.disk,
            'id': flavor.id}
    differ = sorted(k for k, v in want.items()
                    if v is not None and v != have[k])
    if differ:
        raise exception.FlavorSizeMismatch(
            name=flavor.name, id=flavor.id,
            have=', '.join('%s=%s' % (k, have[k]) for k in differ),
            want=', '.join('%s=%s' % (k, want[k]) for k in differ))
    if row.profile and row.profile != spec.profile and not force:
        raise exception.FlavorProfileMismatch(
            name=flavor.name, id=flavor.id, have=row.profile,
            want=spec.profile)


def ensure_flavor(compute: Compute, scheme: naming.Scheme, spec: FlavorSpec,
                  force: bool = False, dry_run: bool = False,
                  flavors: list[Flavor] | None = None,
                  exist_ok: bool = True) -> FlavorRow:
    """Create the flavor of ``spec``, or bring an existing one in line.

    Never creates a second flavor of the same name (public or private).
    Of an existing flavor's extra specs, those of ``spec`` are set and the
    other MIG resource and GPU trait keys removed; the rest is kept.

    :param force: change a flavor nova-mig did not create (and mark it).
    :param flavors: every flavor, when the caller already listed them.
    :param exist_ok: update an existing flavor; False raises
        :class:`nova_mig.exception.FlavorExists` instead.
    :raises: :class:`nova_mig.exception.FlavorNotManaged`,
        :class:`nova_mig.exception.FlavorSizeMismatch`,
        :class:`nova_mig.exception.FlavorProfileMismatch`, or a compute
        error of :func:`compute_call`.
    """
    if flavors is None:
        flavors = all_flavors(compute)
    wanted = spec.extra_specs(scheme)
    same = [f for f in flavors if f.name == spec.name]
    if not same:
        return _create(compute, scheme, spec, wanted, dry_run)
    flavor = same[0]
    if not exist_ok:
        raise exception.FlavorExists(name=flavor.name, id=flavor.id)
    row = FlavorRow.of(flavor, scheme)
    _check_existing(flavor, row, spec, force)
    row.set_specs = {k: v for k, v in wanted.items()
                     if row.extra_specs.get(k) != v}
    row.removed_specs = _stale_keys(scheme, row.extra_specs, wanted)
    if not row.set_specs and not row.removed_specs:
        row.status = UNCHANGED
        return row
    row.status = 'would update' if dry_run else UPDATED
    if dry_run:
        return row
    action = 'updating the extra specs of flavor %s' % flavor.name
    if row.set_specs:
        set_extra_specs(compute, flavor, row.set_specs)
    for key in row.removed_specs:
        compute_call(action, compute.delete_flavor_extra_specs_property,
                     flavor, key)
    row.extra_specs.update(row.set_specs)
    for key in row.removed_specs:
        row.extra_specs.pop(key, None)
    row.profile = spec.profile
    row.managed = True
    LOG.info('Flavor %s: set %s, removed %s', flavor.name,
             sorted(row.set_specs), row.removed_specs)
    return row


def find_flavor(compute: Compute, ref: str,
                flavors: list[Flavor] | None = None) -> Flavor:
    """The flavor whose ID, else whose name, is ``ref``.

    :raises: :class:`nova_mig.exception.FlavorNotFound`,
        :class:`nova_mig.exception.FlavorAmbiguous`.
    """
    if flavors is None:
        flavors = all_flavors(compute)
    found = ([f for f in flavors if f.id == ref] or
             [f for f in flavors if f.name == ref])
    if not found:
        raise exception.FlavorNotFound(flavor=ref)
    if len(found) > 1:
        raise exception.FlavorAmbiguous(
            flavor=ref, count=len(found),
            ids=', '.join(sorted(f.id for f in found)))
    return found[0]


def _owned(flavor: Flavor, scheme: naming.Scheme,
           force: bool) -> FlavorRow:
    row = FlavorRow.of(flavor, scheme)
    if not row.managed and not force:
        raise exception.FlavorNotManaged(name=flavor.name, id=flavor.id,
                                         mark=naming.MANAGED_KEY)
    return row


def change_specs(compute: Compute, scheme: naming.Scheme, flavor: Flavor,
                 set_specs: dict[str, str] | None = None,
                 unset_keys: collections.abc.Iterable[str] = (),
                 force: bool = False) -> FlavorRow:
    """Set and remove extra specs of a flavor nova-mig created.

    Keys to remove that the flavor lacks are ignored. With ``force`` a
    flavor nova-mig did not create is changed too, and marked as its own.

    :raises: :class:`nova_mig.exception.FlavorNotManaged`, or a compute
        error of :func:`compute_call`.
    """
    row = _owned(flavor, scheme, force)
    wanted = dict(set_specs or {})
    if not row.managed:
        wanted[naming.MANAGED_KEY] = 'true'
    row.set_specs = {k: v for k, v in wanted.items()
                     if row.extra_specs.get(k) != v}
    row.removed_specs = sorted(k for k in set(unset_keys)
                               if k in row.extra_specs)
    row.status = (UPDATED if row.set_specs or row.removed_specs
                  else UNCHANGED)
    if row.set_specs:
        set_extra_specs(compute, flavor, row.set_specs)
    for key in row.removed_specs:
        compute_call('removing extra spec %s of flavor %s'
                     % (key, flavor.name),
                     compute.delete_flavor_extra_specs_property,
                     flavor, key)
        row.extra_specs.pop(key, None)
    row.extra_specs.update(row.set_specs)
    row.profile = scheme.profile_of_specs(row.extra_specs)
    row.managed = True
    return row


def delete_flavor(compute: Compute, scheme: naming.Scheme, flavor: Flavor,
                  force: bool = False) -> FlavorRow:
    """Delete a flavor nova-mig created (any flavor with ``force``)."""
    row = _owned(flavor, scheme, force)
    compute_call('deleting flavor %s' % flavor.name, compute.delete_flavor,
                 flavor)
    row.status = 'deleted'
    LOG.info('Deleted flavor %s (%s)', flavor.name, flavor.id)
    return row


def _create(compute: Compute, scheme: naming.Scheme, spec: FlavorSpec,
            wanted: dict[str, str], dry_run: bool) -> FlavorRow:
    row = FlavorRow(
        name=spec.name, id=spec.flavor_id, profile=spec.profile,
        vcpus=spec.vcpus or DEFAULT_VCPUS, ram=spec.ram or DEFAULT_RAM_MB,
        disk=DEFAULT_DISK_GB if spec.disk is None else spec.disk,
        extra_specs=dict(wanted), managed=True, set_specs=dict(wanted),
        is_public=spec.is_public, description=spec.description,
        status='would create' if dry_run else CREATED)
    if dry_run:
        return row
    optional = {k: v for k, v in (('id', spec.flavor_id),
                                  ('description', spec.description)) if v}
    flavor = compute_call(
        'creating flavor %s' % spec.name, compute.create_flavor,
        name=spec.name, vcpus=row.vcpus, ram=row.ram, disk=row.disk,
        is_public=spec.is_public, **optional)
    try:
        set_extra_specs(compute, flavor, wanted)
        for project_id in spec.project_ids:
            compute_call('giving project %s access to flavor %s'
                         % (project_id, spec.name),
                         compute.flavor_add_tenant_access, flavor.id,
                         project_id)
    except exception.NovaMigException:
        # A flavor without its extra specs (and ownership mark) would
        # block every later run, and one its project cannot use is not
        # what was asked: take it back.
        LOG.warning('Deleting flavor %s: it could not be completed',
                    spec.name)
        try:
            compute.delete_flavor(flavor)
        except Exception as e:  # the original error matters more
            LOG.error('Could not delete flavor %s (%s): %s', spec.name,
                      flavor.id, e)
        raise
    row.id = flavor.id
    LOG.info('Created flavor %s (%s) for MIG profile %s', spec.name,
             flavor.id, spec.profile)
    return row


def sync_flavors(compute: Compute, scheme: naming.Scheme, profiles: list[str],
                 template: FlavorSpec | None = None, force: bool = False,
                 dry_run: bool = False,
                 offered: list[str] | None = None) -> list[FlavorRow]:
    """One flavor per profile; report nova-mig's flavors of lost profiles.

    A flavor of the same name that nova-mig does not own is reported with
    status ``refused`` (and left alone) instead of stopping the others.

    :param template: sizes, properties and traits for every flavor; its
        ``profile`` and ``name`` are ignored.
    :param offered: the profiles the cloud offers (default ``profiles``);
        nova-mig's flavors of any other profile are reported with status
        ``not offered``, and kept.
    """
    offering = set(profiles if offered is None else offered)
    template = template or FlavorSpec(profile='', name='')
    flavors = all_flavors(compute)
    rows = []
    for profile in sorted(set(profiles)):
        spec = dataclasses.replace(template, profile=profile,
                                   name=scheme.flavor_name(profile))
        try:
            rows.append(ensure_flavor(compute, scheme, spec, force=force,
                                      dry_run=dry_run, flavors=flavors))
        except (exception.FlavorNotManaged, exception.FlavorSizeMismatch,
                exception.FlavorProfileMismatch) as e:
            existing = [f for f in flavors if f.name == spec.name][0]
            rows.append(FlavorRow.of(existing, scheme, status=REFUSED,
                                     reason=str(e)))
    done = {r.name for r in rows}
    for row in mig_flavors(compute, scheme, flavors):
        if row.managed and row.name not in done and \
                row.profile not in offering:
            row.status = NOT_OFFERED
            rows.append(row)
    return rows
