# SPDX-License-Identifier: Apache-2.0

"""``openstack mig flavor create|list|sync``: flavors of one MIG slice."""

import argparse
import re

from osc_lib.cli import format_columns
from osc_lib.cli import parseractions
from osc_lib import exceptions as osc_exc

from nova_mig import exception
from nova_mig import exitcodes
from nova_mig.flavor import gpu_traits
from nova_mig.flavor import manage
from nova_mig.flavor import migration
from nova_mig.flavor import slice_capacity
from nova_mig import naming
from nova_mig.osc import common

_TRAIT_RE = re.compile(r'^[A-Z][A-Z0-9_]*$')


def _add_size_options(parser: argparse.ArgumentParser,
                      sync: bool = False) -> None:
    """--ram, --disk, --vcpus, worded as ``openstack flavor create``'s."""
    new = 'of a new flavor ' if sync else ''
    parser.add_argument(
        '--ram', metavar='<size-mb>', type=int,
        help='Memory size in MB %s(default %dM, not 256M: NVIDIA\'s '
             'guest driver needs more)' % (new, manage.DEFAULT_RAM_MB))
    parser.add_argument(
        '--disk', metavar='<size-gb>', type=int,
        help='Disk size in GB %s(default %dG)'
             % (new, manage.DEFAULT_DISK_GB))
    parser.add_argument(
        '--vcpus', metavar='<vcpus>', type=int,
        help='Number of vcpus %s(default %d)' % (new, manage.DEFAULT_VCPUS))


def _add_public_options(parser: argparse.ArgumentParser) -> None:
    public = parser.add_mutually_exclusive_group()
    public.add_argument(
        '--public', dest='public', action='store_true', default=True,
        help='Flavor is available to other projects (default)')
    public.add_argument(
        '--private', dest='public', action='store_false',
        help='Flavor is not available to other projects')


def _add_mig_options(parser: argparse.ArgumentParser,
                     sync: bool = False) -> None:
    """What nova-mig adds to ``openstack flavor create``'s options."""
    parser.add_argument(
        '--property', metavar='<key=value>',
        action=parseractions.KeyValueAction, default={},
        help='Property to add for this flavor (repeat option to set '
             'multiple properties); nova-mig adds the MIG resources and '
             'traits')
    parser.add_argument(
        '--model-trait', metavar='<model-or-trait>', action='append',
        default=[],
        help='Also require this GPU model: an NVML model name ("NVIDIA '
             'A100 80GB PCIe", turned into a trait with --model-template) '
             'or a trait name (repeat for more)')
    parser.add_argument(
        '--force', action='store_true', default=False,
        help='Also change flavors nova-mig did not create (they are '
             'marked as nova-mig\'s afterwards)')
    if sync:
        parser.add_argument(
            '--dry-run', action='store_true', default=False,
            help='Show what would change; change nothing')
    common.add_naming_options(parser, flavor=True)


def _model_traits(scheme: naming.Scheme,
                  values: list[str]) -> tuple[str, ...]:
    return tuple(v if _TRAIT_RE.match(v) else scheme.model_trait(v)
                 for v in values)


def _template(parsed_args: argparse.Namespace, scheme: naming.Scheme,
              profile: str = '', name: str = '') -> manage.FlavorSpec:
    return manage.FlavorSpec(
        profile=profile, name=name, vcpus=parsed_args.vcpus,
        ram=parsed_args.ram, disk=parsed_args.disk,
        properties=dict(parsed_args.property),
        traits=_model_traits(scheme, parsed_args.model_trait),
        is_public=parsed_args.public)


#: The columns of "flavor create" and "flavor show": those of "openstack
#: flavor show" that nova-mig sets, then its own.
SHOW_COLUMNS = ('name', 'id', 'description', 'os-flavor-access:is_public',
                'vcpus', 'ram', 'disk', 'properties', 'profile', 'status',
                'managed')


def _show(row: manage.FlavorRow) -> common.Result:
    return SHOW_COLUMNS, (row.name, row.id, row.description, row.is_public,
                          row.vcpus, row.ram, row.disk,
                          format_columns.DictColumn(row.extra_specs),
                          row.profile, row.status, row.managed)


class CreateFlavor(common.ShowOne):
    """Create new flavor asking for one vGPU of a MIG profile.

    The options shared with "openstack flavor create" mean the same; the
    default sizes are larger (a guest running NVIDIA's vGPU driver needs
    them). A flavor of the same name is an error, as with "openstack
    flavor create"; --or-update updates the MIG extra specs of an existing
    flavor nova-mig created instead (its other extra specs, sizes, ID,
    description and access are kept). A flavor it did not create is
    refused without --force. --project needs --private; the flavor is
    deleted again when Nova refuses its extra specs or project access.
    """

    def get_parser(self, prog_name: str) -> argparse.ArgumentParser:
        parser = super().get_parser(prog_name)
        parser.add_argument(
            'name', metavar='<flavor-name>', nargs='?',
            help='New flavor name (default: from --name-template, such '
                 'as mig.1g.10gb)')
        # Before nova-mig 2.0 the name was an option; still accepted.
        parser.add_argument('--name', dest='name_option',
                            help=argparse.SUPPRESS)
        parser.add_argument('--id', metavar='<id>',
                            help='Unique flavor ID')
        _add_size_options(parser)
        _add_public_options(parser)
        parser.add_argument(
            '--project', metavar='<project>',
            help='Allow <project> to access private flavor (name or ID) '
                 '(Must be used with --private option)')
        parser.add_argument(
            '--description', metavar='<description>',
            help='Description for the flavor (Supported by API versions '
                 '\'2.55\' - \'2.latest\')')
        parser.add_argument(
            '--project-domain', metavar='<project-domain>',
            help='Domain the project belongs to (name or ID). This can be '
                 'used in case collisions between project names exist.')
        parser.add_argument(
            '--profile', metavar='<profile>', required=True,
            help='MIG profile the flavor asks one vGPU of, such as 1g.10gb')
        parser.add_argument(
            '--live-migratable', action='store_true', default=False,
            help='Ask for a vGPU that can live-migrate: needs --model-trait '
                 '(the same vGPU type on source and target); on '
                 'vendor-specific VFIO hosts also requires '
                 'HW_PCI_LIVE_MIGRATABLE ([nova]live_migratable, Nova '
                 '2026.2 or later)')
        parser.add_argument(
            '--or-update', action='store_true', default=False,
            help='Update the flavor when it exists (its MIG resources and '
                 'GPU traits; other extra specs are kept)')
        _add_mig_options(parser)
        return parser

    def _name(self, parsed_args: argparse.Namespace,
              scheme: naming.Scheme, profile: str) -> str:
        name, option = parsed_args.name, parsed_args.name_option
        if option is not None:
            if name is not None and name != option:
                raise osc_exc.CommandError(
                    'Two flavor names: %s and --name %s; give one' %
                    (name, option))
            self.app.stderr.write('--name is deprecated: give the flavor '
                                  'name as the first argument\n')
            name = option
        return name or scheme.flavor_name(profile)

    def _project_id(self, parsed_args: argparse.Namespace) -> str | None:
        """The ID of --project, looked up before anything is created."""
        if not parsed_args.project:
            return None
        if parsed_args.public:
            raise osc_exc.CommandError(
                '--project is only allowed with --private')
        return common.project_id(self.app, parsed_args.project,
                                 parsed_args.project_domain)

    @common.translate_errors
    def take_action(self, parsed_args: argparse.Namespace) -> common.Result:
        mig = common.mig_client(self.app)
        scheme = common.scheme(parsed_args)
        profile = parsed_args.profile
        name = self._name(parsed_args, scheme, profile)
        project_id = self._project_id(parsed_args)
        slice_capacity.check_profile(mig.placement, scheme, profile)
        spec = _template(parsed_args, scheme, profile, name)
        spec.flavor_id = parsed_args.id
        spec.description = parsed_args.description
        spec.project_ids = (project_id,) if project_id else ()
        if parsed_args.live_migratable:
            spec.traits = migration.required_traits(mig.placement, scheme,
                                                    profile, spec.traits)
        gpu_traits.check_traits(mig.placement, scheme, spec.traits)
        row = manage.ensure_flavor(mig.compute, scheme, spec,
                                   force=parsed_args.force,
                                   exist_ok=parsed_args.or_update)
        return _show(row)


def _add_flavor_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument('flavor', metavar='<flavor>',
                        help='Flavor to act on (name or ID)')


class ShowFlavor(common.ShowOne):
    """Show a flavor with the MIG profile it asks for."""

    def get_parser(self, prog_name: str) -> argparse.ArgumentParser:
        parser = super().get_parser(prog_name)
        _add_flavor_argument(parser)
        common.add_naming_options(parser)
        return parser

    @common.translate_errors
    def take_action(self, parsed_args: argparse.Namespace) -> common.Result:
        compute = common.mig_client(self.app).compute
        flavor = manage.find_flavor(compute, parsed_args.flavor)
        return _show(manage.FlavorRow.of(flavor, common.scheme(parsed_args),
                                         status='exists'))


class _ChangeFlavor(common.Command):
    """Set or unset extra specs of a flavor nova-mig created."""

    def get_parser(self, prog_name: str) -> argparse.ArgumentParser:
        parser = super().get_parser(prog_name)
        _add_flavor_argument(parser)
        parser.add_argument(
            '--force', action='store_true', default=False,
            help='Also change a flavor nova-mig did not create (it is '
                 'marked as nova-mig\'s afterwards)')
        common.add_naming_options(parser)
        return parser

    def changes(self, parsed_args: argparse.Namespace,
                scheme: naming.Scheme) -> tuple[dict[str, str], list[str]]:
        raise NotImplementedError

    @common.translate_errors
    def take_action(self, parsed_args: argparse.Namespace) -> None:
        compute = common.mig_client(self.app).compute
        scheme = common.scheme(parsed_args)
        flavor = manage.find_flavor(compute, parsed_args.flavor)
        set_specs, unset_keys = self.changes(parsed_args, scheme)
        manage.change_specs(compute, scheme, flavor, set_specs, unset_keys,
                            force=parsed_args.force)


class SetFlavor(_ChangeFlavor):
    """Set extra specs of a flavor nova-mig created.

    Nova validates the extra specs (microversion 2.86). A flavor nova-mig
    did not create is refused without --force.
    """

    def get_parser(self, prog_name: str) -> argparse.ArgumentParser:
        parser = super().get_parser(prog_name)
        parser.add_argument(
            '--property', metavar='<key=value>',
            action=parseractions.KeyValueAction, default={},
            help='Extra spec to set (repeat for more)')
        parser.add_argument(
            '--model-trait', metavar='<model-or-trait>', action='append',
            default=[],
            help='Also require this GPU model: an NVML model name or a '
                 'trait name (repeat for more)')
        return parser

    def changes(self, parsed_args: argparse.Namespace,
                scheme: naming.Scheme) -> tuple[dict[str, str], list[str]]:
        specs = dict(parsed_args.property)
        for trait in _model_traits(scheme, parsed_args.model_trait):
            specs['trait:%s' % trait] = 'required'
        return specs, []


class UnsetFlavor(_ChangeFlavor):
    """Remove extra specs of a flavor nova-mig created."""

    def get_parser(self, prog_name: str) -> argparse.ArgumentParser:
        parser = super().get_parser(prog_name)
        parser.add_argument(
            '--property', metavar='<key>', action='append', default=[],
            help='Extra spec to remove (repeat for more)')
        parser.add_argument(
            '--model-trait', metavar='<model-or-trait>', action='append',
            default=[],
            help='No longer require this GPU model (repeat for more)')
        return parser

    def changes(self, parsed_args: argparse.Namespace,
                scheme: naming.Scheme) -> tuple[dict[str, str], list[str]]:
        keys = list(parsed_args.property)
        keys += ['trait:%s' % t
                 for t in _model_traits(scheme, parsed_args.model_trait)]
        return {}, keys


class DeleteFlavor(common.Command):
    """Delete flavors nova-mig created.

    A flavor nova-mig did not create is refused without --force. Every
    flavor named is tried; the exit code is 1 when one failed.
    """

    def get_parser(self, prog_name: str) -> argparse.ArgumentParser:
        parser = super().get_parser(prog_name)
        parser.add_argument('flavor', metavar='<flavor>', nargs='+',
                            help='Flavor(s) to delete (name or ID)')
        parser.add_argument(
            '--force', action='store_true', default=False,
            help='Also delete flavors nova-mig did not create')
        common.add_naming_options(parser)
        return parser

    def take_action(self, parsed_args: argparse.Namespace) -> None:
        compute = common.mig_client(self.app).compute
        scheme = common.scheme(parsed_args)
        failed = []
        for ref in parsed_args.flavor:
            try:
                flavor = manage.find_flavor(compute, ref)
                manage.delete_flavor(compute, scheme, flavor,
                                     force=parsed_args.force)
            except exception.NovaMigException as e:
                self.app.stderr.write('%s\n' % e)
                failed.append(ref)
        if failed:
            raise osc_exc.CommandError(
                'Failed to delete %d of %d flavors: %s' % (
                    len(failed), len(parsed_args.flavor),
                    ', '.join(failed)))


class ListFlavor(common.Lister):
    """List the flavors asking for a MIG-backed vGPU, with their profile."""

    def get_parser(self, prog_name: str) -> argparse.ArgumentParser:
        parser = super().get_parser(prog_name)
        common.add_naming_options(parser)
        return parser

    @common.translate_errors
    def take_action(self, parsed_args: argparse.Namespace) -> common.Result:
        rows = manage.mig_flavors(common.mig_client(self.app).compute,
                                  common.scheme(parsed_args))
        columns = ('ID', 'Name', 'RAM', 'Disk', 'VCPUs', 'Is Public',
                   'Profile', 'Resources', 'Traits', 'Managed')
        return columns, [
            (r.id, r.name, r.ram, r.disk, r.vcpus, r.is_public, r.profile,
             format_columns.DictColumn(r.resources),
             format_columns.DictColumn(r.traits), r.managed) for r in rows]


class SyncFlavor(common.Lister):
    """Create or update one flavor per MIG profile the cloud offers.

    The profiles offered are those with an inventory in Placement. Flavors
    of the same name that nova-mig did not create are reported as refused
    (exit code 1) and left alone unless --force. nova-mig's flavors of
    profiles no longer offered are reported, never deleted.
    """

    def get_parser(self, prog_name: str) -> argparse.ArgumentParser:
        parser = super().get_parser(prog_name)
        parser.add_argument(
            '--profile', metavar='<profile>', action='append', default=[],
            help='Only these offered profiles (repeat for more)')
        _add_size_options(parser, sync=True)
        _add_public_options(parser)
        _add_mig_options(parser, sync=True)
        return parser

    @common.translate_errors
    def take_action(self, parsed_args: argparse.Namespace) -> common.Result:
        mig = common.mig_client(self.app)
        scheme = common.scheme(parsed_args)
        offered = slice_capacity.offered_profiles(mig.placement, scheme)
        profiles = offered
        if parsed_args.profile:
            for profile in parsed_args.profile:
                if profile not in offered:
                    slice_capacity.check_profile(mig.placement, scheme,
                                                 profile)
            profiles = sorted(set(parsed_args.profile))
        template = _template(parsed_args, scheme)
        gpu_traits.check_traits(mig.placement, scheme, template.traits)
        rows = manage.sync_flavors(mig.compute, scheme, profiles,
                                   template=template,
                                   force=parsed_args.force,
                                   dry_run=parsed_args.dry_run,
                                   offered=offered)
        refused = [r for r in rows if r.status == manage.REFUSED]
        for row in refused:
            self.app.stderr.write(row.reason + '\n')
        self.exit_status = exitcodes.status(failed=bool(refused))
        columns = ('Name', 'ID', 'Profile', 'Status', 'Set', 'Removed')
        return columns, [
            (r.name, r.id, r.profile, r.status,
             format_columns.DictColumn(r.set_specs),
             format_columns.ListColumn(r.removed_specs)) for r in rows]
