# SPDX-License-Identifier: Apache-2.0

"""GPU backends: loading the plugin selected by ``[gpu]backend``."""

import importlib.metadata
import typing

from oslo_config import cfg
from stevedore import driver
from stevedore import exception as stevedore_exc
from stevedore import extension

from nova_mig import exception
from nova_mig.gpu import backend_api

NAMESPACE = 'nova_mig.gpu_backends'


def available_backends() -> list[str]:
    """Names of the installed GPU backend plugins."""
    return sorted(extension.ExtensionManager(NAMESPACE).names())


def load_backend(conf: cfg.ConfigOpts) -> backend_api.GpuBackend:
    """Instantiate the backend named by ``[gpu]backend``.

    :param conf: a ``ConfigOpts`` with nova-mig's options registered.
    :returns: a :class:`nova_mig.gpu.backend_api.GpuBackend`.
    :raises: :class:`nova_mig.exception.BackendNotFound`
    """
    name = conf.gpu.backend
    failures: list[BaseException] = []

    def _failed(manager: extension.ExtensionManager[backend_api.GpuBackend],
                entrypoint: importlib.metadata.EntryPoint,
                error: BaseException) -> None:
        failures.append(error)

    try:
        manager: driver.DriverManager[
            backend_api.GpuBackend] = driver.DriverManager(
                NAMESPACE, name, invoke_on_load=True, invoke_args=(conf,),
                on_load_failure_callback=_failed)
    except stevedore_exc.NoMatches:
        if failures:
            error = failures[0]
            if isinstance(error, exception.NovaMigException):
                raise error
            raise exception.BackendLoadFailed(name=name, reason=error)
        raise exception.BackendNotFound(
            name=name, available=', '.join(available_backends()) or 'none')
    # invoke_on_load: the driver is the backend object, not its class.
    return typing.cast(backend_api.GpuBackend, manager.driver)
