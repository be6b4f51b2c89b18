"""Privilege separation for nova-mig's root-only operations.

``sys_admin_pctxt`` is the context of every privileged nova-mig entrypoint
(MIG changes through NVML, sysfs writes, files below ``/etc/nova``),
configured by the ``[nova_mig_privsep]`` section. It is built on first use
(:mod:`nova_mig.privsep.context`), so that importing this package, e.g. for
:mod:`nova_mig.privsep.helper`, does not import oslo.privsep and eventlet.
The daemon finds it again by its Python path, ``helper.CONTEXT``.
"""

import typing

if typing.TYPE_CHECKING:
    from nova_mig.privsep import context as context_mod

_CONTEXT: 'context_mod.NovaMigPrivContext | None' = None


def __getattr__(name: str) -> 'context_mod.NovaMigPrivContext':
    if name != 'sys_admin_pctxt':
        raise AttributeError('module %r has no attribute %r'
                             % (__name__, name))
    global _CONTEXT
    if _CONTEXT is None:
        from nova_mig.privsep import context
        _CONTEXT = context.build()
    return _CONTEXT
