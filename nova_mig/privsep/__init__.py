# SPDX-License-Identifier: Apache-2.0

"""Privilege separation for nova-mig's root-only operations.

Four contexts, each its own daemon with the fewest capabilities its
entry points need (see :data:`nova_mig.privsep.context.CAPABILITIES`):

* ``sysfs_pctxt``: the intent-named sysfs writes of
  :mod:`nova_mig.privsep.sysfs_writes` (VF count, mdev create and remove,
  vendor-VFIO vGPU type);
* ``nvml_pctxt``: MIG changes through NVML and the GPU reset of
  :mod:`nova_mig.privsep.nvml_calls`;
* ``files_pctxt``: configuration files below ``/etc/nova`` and mdevctl
  definitions below ``/etc/mdevctl.d`` (:mod:`nova_mig.privsep.files`);
* ``proc_pctxt``: who holds ``/dev/vfio`` nodes open, read from every
  process's descriptors (:mod:`nova_mig.privsep.proc`), for an
  unprivileged nova-mig's in-use check.

Every privileged entry point lives in this package. A context is built on
first use (:mod:`nova_mig.privsep.context`), so that importing this
package, e.g. for :mod:`nova_mig.privsep.helper`, does not import
oslo.privsep and eventlet. The daemon finds a context again by its Python
path, :func:`nova_mig.privsep.helper.pypath`.
"""

import typing

if typing.TYPE_CHECKING:
    from nova_mig.privsep import context

_CONTEXTS: dict[str, 'context.NovaMigPrivContext'] = {}
_SUFFIX = '_pctxt'


def __getattr__(name: str) -> 'context.NovaMigPrivContext':
    # Only a context's name imports anything: "from nova_mig.privsep
    # import files" asks for the submodule here first.
    short = name[:-len(_SUFFIX)]
    if not name.endswith(_SUFFIX):
        raise AttributeError('module %r has no attribute %r'
                             % (__name__, name))
    from nova_mig.privsep import helper
    if short not in helper.CONTEXTS:
        raise AttributeError('module %r has no attribute %r'
                             % (__name__, name))
    if short not in _CONTEXTS:
        from nova_mig.privsep import context
        _CONTEXTS[short] = context.build(short)
    return _CONTEXTS[short]
