# SPDX-License-Identifier: Apache-2.0

"""``nova-mig self-check``: do NVML, sysfs, libvirt and the catalog agree?"""

import argparse
import typing

from cliff import lister
from stevedore import extension

from nova_mig.cli import common
from nova_mig import exitcodes
from nova_mig.host import discovery
from nova_mig.host import selfcheck

COLUMNS = ('Check', 'Subject', 'Status', 'Detail')
#: Entry points giving the reference cards (the simulator's catalog).
CATALOG_NAMESPACE = 'nova_mig.reference_catalogs'


def reference_cards() -> list[selfcheck.Reference] | None:
    """The cards of every installed reference catalog, None without one."""
    manager: extension.ExtensionManager[typing.Any] = \
        extension.ExtensionManager(CATALOG_NAMESPACE)
    if not manager.names():
        return None
    cards: list[selfcheck.Reference] = []
    for ext in manager:
        cards.extend(ext.plugin())
    return cards


class SelfCheck(common.ErrorReporting, lister.Lister):
    """Check that NVML, sysfs, libvirt and the catalog agree; read-only.

    The first thing to run on new hardware, and what to attach to a bug
    report. Discovers the host like "nova-mig discover" and compares, for
    each GPU NVML lists: its PCI function in sysfs (vendor and device ID,
    bound to the nvidia driver); the vGPU types sysfs offers on its VFs
    against those NVML lists, and the GPU instance each vendor-VFIO VF
    names against NVML's; the GPU-instance profile NVML maps each vGPU
    type to against what the type's name says and against nova-mig's
    catalog of the card (found by PCI device ID: profiles with their IDs
    and instance counts, each type's profile); then the SR-IOV VF counts,
    and the vGPU devices NVML runs and libvirt lists (node devices, and
    the guests using them) against sysfs. A card the catalog does not
    know is reported as unknown.

    Prints one row per comparison: ok, differs (the sources disagree),
    note (worth knowing, not wrong) or unknown. With --capture FILE, also
    writes the host as a simulated-host file (what "discover --host-file"
    writes) headed by the findings, to attach to a bug report; that is the
    only file written. It changes nothing on the host: no MIG mode, no
    instance, no VF, no vGPU.

    Exits 0 when nothing differs, 1 when something differs or a card is
    unknown.
    """

    uses_cloud = False

    def get_parser(self, prog_name: str) -> argparse.ArgumentParser:
        parser = super().get_parser(prog_name)
        parser.add_argument(
            '--capture', metavar='FILE',
            help='Also write the host and the findings to FILE (a '
                 'simulated-host file; replay it with [simulator]host_file)')
        parser.add_argument(
            '--all', action='store_true', default=False,
            help='List the comparisons that agree too (default: only '
                 'those that differ, notes and unknown cards)')
        return parser

    def take_action(self, parsed_args: argparse.Namespace) -> common.Columns:
        backend = self.backend()
        found = discovery.discover(backend)
        findings = selfcheck.check(found, backend.sysfs_root(),
                                   reference_cards())
        if parsed_args.capture:
            # Imported here: a plain self-check does not pay for them.
            from nova_mig.documents import simulated_host_file
            from nova_mig.host import capture
            simulated_host_file.write(
                parsed_args.capture, capture.host_file(found),
                header=selfcheck.capture_header(findings) +
                '# nova-mig self-check --capture: a captured host, see '
                'doc/source/reference/simulated-host.rst\n')
            self.app.stderr.write('Wrote capture %s\n' % parsed_args.capture)
        bad = selfcheck.disagreements(findings)
        self.exit_status = exitcodes.status(failed=bool(bad))
        self.app.stderr.write(
            'self-check: %d disagreement(s)%s\n' % (len(bad), ''.join(
                '\n  %s %s: %s' % (f.check, f.subject, f.detail)
                for f in bad)))
        shown = [f for f in findings
                 if parsed_args.all or f.status != selfcheck.OK]
        return COLUMNS, [f.row() for f in shown]
