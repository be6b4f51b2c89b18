# SPDX-License-Identifier: Apache-2.0

"""Render the simulated host's domains and node devices for libvirt.

The output is a libvirt test-driver file, opened as
``test:///<absolute path>``: a ``<node>`` holding ``<domain type='test'>``
elements (run state set with the test driver's ``<test:runstate>``
extension: 1 running, 3 paused, 5 shut off) and ``<device>`` elements
(PCI functions, mdev parents with ``<capability type='mdev_types'>`` and
mdev children).
"""

import html
import logging

from nova_mig.model import constants
from nova_mig.simulator import live_state
from nova_mig.simulator import pci

LOG = logging.getLogger(__name__)

TEST_NS = 'http://libvirt.org/schemas/domain/test/1.0'
NOVA_NS = 'http://openstack.org/xmlns/libvirt/nova/1.1'
#: virDomainState values the test driver's runstate element takes.
RUNSTATES = {'running': 1, 'paused': 3, 'shutoff': 5}


def _text(value: str) -> str:
    return html.escape(str(value), quote=False)


def _pci_address(address: str) -> str:
    domain, bus, slot, function = pci.split(address)
    return ("<address domain='0x%04x' bus='0x%02x' slot='0x%02x' "
            "function='0x%x'/>" % (domain, bus, slot, function))


def _domain(domain: live_state.DomainRecord) -> str:
    lines = ["  <domain type='test' xmlns:test='%s'>" % TEST_NS,
             '    <name>%s</name>' % _text(domain['name']),
             '    <uuid>%s</uuid>' % domain['uuid'],
             '    <memory>1048576</memory>', '    <vcpu>1</vcpu>',
             '    <os><type>hvm</type></os>']
    if domain['nova']:
        lines += ['    <metadata>',
                  "      <nova:instance xmlns:nova='%s'>" % NOVA_NS,
                  "        <nova:package version='30.0.0'/>",
                  '        <nova:name>%s</nova:name>'
                  % _text(domain['display_name']),
                  '      </nova:instance>', '    </metadata>']
    lines.append('    <devices>')
    for mdev in domain['mdevs']:
        lines += ["      <hostdev mode='subsystem' type='mdev' "
                  "model='vfio-pci'>",
                  "        <source><address uuid='%s'/></source>" % mdev,
                  '      </hostdev>']
    for address in domain['pci_hostdevs']:
        lines += ["      <hostdev mode='subsystem' type='pci' "
                  "managed='no'>",
                  '        <source>%s</source>' % _pci_address(address),
                  '      </hostdev>']
    lines += ['    </devices>',
              '    <test:runstate>%d</test:runstate>'
              % RUNSTATES[domain['state']], '  </domain>']
    return '\n'.join(lines)


def _pci_device(state: live_state.HostState, gpu: live_state.GpuRecord,
                address: str, vf_index: int | None) -> str:
    model = state.model(gpu)
    domain, bus, slot, function = pci.split(address)
    lines = ['  <device>',
             '    <name>%s</name>' % constants.libvirt_pci_name(address),
             '    <parent>computer</parent>',
             '    <driver><name>nvidia</name></driver>',
             "    <capability type='pci'>",
             '      <class>0x030200</class>',
             '      <domain>%d</domain>' % domain,
             '      <bus>%d</bus>' % bus,
             '      <slot>%d</slot>' % slot,
             '      <function>%d</function>' % function,
             "      <product id='0x%04x'>%s</product>"
             % (model.pci_device, _text(model.nvml_name)),
             "      <vendor id='0x10de'>NVIDIA Corporation</vendor>"]
    if vf_index is not None:
        lines += ["      <capability type='phys_function'>",
                  '        %s' % _pci_address(gpu['pci_address']),
                  '      </capability>']
    elif model.sriov:
        lines.append("      <capability type='virt_functions' "
                     "maxCount='%d'>" % model.sriov_totalvfs)
        lines += ['        %s' % _pci_address(vf)
                  for vf in state.vf_addresses(gpu)]
        lines.append('      </capability>')
    if (state.device_mode == constants.MODE_MDEV and
            address in state.vgpu_parents(gpu)):
        lines.append("      <capability type='mdev_types'>")
        for vgpu_type in state.listed_types(gpu):
            lines += ["        <type id='nvidia-%d'>" % vgpu_type.id,
                      '          <name>%s</name>' % _text(vgpu_type.name),
                      '          <deviceAPI>vfio-pci</deviceAPI>',
                      '          <availableInstances>%d</availableInstances>'
                      % state.available_instances(gpu, address, vgpu_type),
                      '        </type>']
        lines.append('      </capability>')
    lines += ['    </capability>', '  </device>']
    return '\n'.join(lines)


def _mdev_device(state: live_state.HostState,
                 vgpu: live_state.VgpuRecord) -> str:
    name = pci.libvirt_mdev_name(vgpu['uuid'], vgpu['parent'],
                                 state.data['mdev_node_name'])
    return '\n'.join([
        '  <device>',
        '    <name>%s</name>' % name,
        '    <parent>%s</parent>' % constants.libvirt_pci_name(vgpu['parent']),
        "    <driver><name>nvidia-vgpu-vfio</name></driver>",
        "    <capability type='mdev'>",
        "      <type id='nvidia-%d'/>" % vgpu['type_id'],
        '      <uuid>%s</uuid>' % vgpu['uuid'],
        "      <iommuGroup number='%d'/>" % vgpu['iommu_group'],
        '    </capability>',
        '  </device>'])


def render(state: live_state.HostState) -> str:
    """The test-driver XML document of ``state``."""
    parts = ['<?xml version="1.0"?>',
             '<!-- Simulated host: generated by nova-mig, do not edit -->',
             '<node>']
    parts += [_domain(domain) for domain in state.domains]
    for gpu in state.gpus:
        parts.append(_pci_device(state, gpu, gpu['pci_address'], None))
        parts += [_pci_device(state, gpu, vf, index)
                  for index, vf in enumerate(state.vf_addresses(gpu))]
    if state.device_mode == constants.MODE_MDEV:
        parts += [_mdev_device(state, vgpu) for vgpu in state.vgpus]
    parts.append('</node>')
    return '\n'.join(parts) + '\n'
