# SPDX-License-Identifier: Apache-2.0

"""Every option module of nova-mig, found by walking this package.

Each module of ``nova_mig.conf`` but this one and ``utils`` defines an
option group with ``register_opts(conf)`` and ``list_opts()``; a new group
needs nothing but its module. ``list_opts`` is the ``oslo.config.opts``
entry point of oslo-config-generator.
"""

import importlib
import os
import pkgutil
import types

from oslo_config import cfg

# Modules of this package that define no options.
_NOT_OPTIONS = frozenset({'opts', 'utils'})


def _list_module_names() -> list[str]:
    path = os.path.dirname(os.path.abspath(__file__))
    return sorted(name for _, name, ispkg in pkgutil.iter_modules([path])
                  if not ispkg and name not in _NOT_OPTIONS)


def _import_modules(names: list[str]) -> list[types.ModuleType]:
    modules = []
    for name in names:
        module = importlib.import_module('nova_mig.conf.' + name)
        if not (hasattr(module, 'list_opts') and
                hasattr(module, 'register_opts')):
            raise RuntimeError(
                'nova_mig.conf.%s defines no list_opts() and '
                'register_opts(conf): add them, or list the module in '
                'nova_mig.conf.opts._NOT_OPTIONS' % name)
        modules.append(module)
    return modules


def option_modules() -> list[types.ModuleType]:
    """The option modules, in name order."""
    return _import_modules(_list_module_names())


def list_opts(cloud: bool = True
              ) -> list[tuple[cfg.OptGroup, list[cfg.Opt]]]:
    """Return ``[(group, [opts])]`` for every nova-mig option group.

    :param cloud: with the options reaching a cloud (keystoneauth's, of
        ``[placement]``); without them keystoneauth is not imported.
    """
    result = []
    for module in option_modules():
        listed = (module.list_opts() if cloud or
                  not hasattr(module, 'list_local_opts')
                  else module.list_local_opts())
        for group, opts in listed.items():
            result.append((group, opts))
    return result
