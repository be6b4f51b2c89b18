# SPDX-License-Identifier: Apache-2.0

"""Errors of the simulated host: its host files and its GPU catalog."""

from nova_mig import exception


class HostFileError(exception.NovaMigException):
    msg_fmt = "%(path)s: %(reason)s"


class UnknownGpuModel(HostFileError):
    msg_fmt = ("%(path)s: unknown GPU model %(model)r at %(where)s; known "
               "models: %(known)s")
