# SPDX-License-Identifier: Apache-2.0

"""The record of the vGPU devices nova-mig created on this host.

``layout apply`` and the boot restore record a device *before* they create
it (an intent, written and fsynced), then confirm it; the next run
reconciles intents with what exists (intent and device -> owned, intent
and no device -> dropped), so a crash or a full disk between the two never
leaves a device nova-mig made that it takes for foreign.  The reaper
removes only recorded devices unless told ``--include-foreign``, so devices
made by Nova or another tool are never taken for ours.

A vendor-VFIO vGPU is recorded under its VF address with the identity of
the vGPU itself (the vGPU instance UUID the driver reports, and its type):
when another tool removes it and creates another on the same VF, the
identity differs and the new vGPU is foreign, with its own age.  The
record is a JSON file under ``[host]state_dir``, replaced atomically.
"""

import datetime
import logging
import os
import typing

from nova_mig import bounded_input
from nova_mig import exception
from nova_mig import fileutils
from nova_mig.model import host_records

LOG = logging.getLogger(__name__)

FILE_NAME = 'owned-devices.json'
VERSION = 1
#: ``state`` of an entry written before its device was created.
INTENT = 'intent'
#: Details naming the identity of a vendor-VFIO vGPU (see :func:`present`).
IDENTITY_KEYS = ('vgpu_uuid', 'type_id')

#: device key -> identity details, as :func:`present` reads them.
Present = dict[str, dict[str, typing.Any]]


def _now() -> str:
    return datetime.datetime.now(datetime.timezone.utc).isoformat()


class OwnershipRecord:
    """Devices nova-mig created, keyed by mdev UUID or vendor-VFIO VF address.

    :param state_dir: ``[host]state_dir``.
    """

    def __init__(self, state_dir: str):
        self.path = os.path.join(state_dir, FILE_NAME)
        self._devices = self._read()

    def _read(self) -> dict[str, dict[str, typing.Any]]:
        def fail(where: str, why: str) -> Exception:
            return exception.StateFileError(
                path=self.path, reason=bounded_input.reason(where, why))

        found, data = bounded_input.read_json(self.path, fail)
        if not found:
            return {}
        if not isinstance(data, dict) or data.get('version') != VERSION:
            raise exception.StateFileError(
                path=self.path, reason='unknown format or version')
        devices = data.get('devices', {})
        if not isinstance(devices, dict):
            raise exception.StateFileError(
                path=self.path, reason='devices: expected a mapping')
        for key, entry in devices.items():
            if not isinstance(entry, dict):
                raise exception.StateFileError(
                    path=self.path, reason='devices.%s: expected a mapping'
                    % key)
        return dict(devices)

    def _write(self, consequence: str = 'the record is unchanged') -> None:
        try:
            fileutils.write_json(self.path, {'version': VERSION,
                                             'devices': self._devices})
        except OSError as e:
            raise exception.StateWriteError(
                path=self.path, reason=e.strerror or e,
                consequence=consequence)

    def owns(self, key: str) -> bool:
        """Whether nova-mig created the device (an intent is not enough)."""
        entry = self._devices.get(key)
        return entry is not None and entry.get('state') != INTENT

    def get(self, key: str) -> dict[str, typing.Any] | None:
        return self._devices.get(key)

    def devices(self) -> dict[str, dict[str, typing.Any]]:
        return dict(self._devices)

    def intend(self, key: str, **details: typing.Any) -> None:
        """Record, fsynced, that a device is about to be created.

        :raises: :class:`nova_mig.exception.StateWriteError` (then the
            device must not be created).
        """
        entry = dict(details, state=INTENT)
        entry.setdefault('created_at', _now())
        self._devices[key] = entry
        self._write('nothing was created')

    def add(self, key: str, **details: typing.Any) -> None:
        """Record a device nova-mig created (UUID or VF address).

        :raises: :class:`nova_mig.exception.StateWriteError`; an intent
            recorded earlier still makes the next run take it as owned.
        """
        entry = dict(self._devices.get(key) or {})
        entry.pop('state', None)
        entry.update(details)
        entry.setdefault('created_at', _now())
        self._devices[key] = entry
        self._write('the device was created; the next run records it from '
                    'its intent')

    def reconcile(self, devices: Present, write: bool = True) -> list[str]:
        """Settle intents and identities against the devices present.

        An intent whose device exists becomes owned, one whose device does
        not is dropped.  An owned entry whose device identity changed (a
        vendor-VFIO vGPU another tool recreated on the VF) is dropped: what
        is there now is foreign.  An owned entry whose device is gone stays
        (the boot restore re-creates it under the same key).

        :param devices: device key -> identity, from :func:`present`.
        :param write: save the result (under the host lock only).
        :returns: one line per change, for the log.
        """
        changes = []
        for key, entry in sorted(self._devices.items()):
            found = devices.get(key)
            if found is not None and not _same(entry, found):
                changes.append('%s: dropped, the device there now is '
                               'another one (%s)' % (key, _identity(found)))
                del self._devices[key]
            elif entry.get('state') == INTENT:
                if found is None:
                    changes.append('%s: intent dropped, never created' % key)
                    del self._devices[key]
                else:
                    entry.pop('state')
                    entry.update({k: v for k, v in found.items()
                                  if v is not None})
                    changes.append('%s: created before a crash, owned' % key)
        for line in changes:
            LOG.info('Ownership record: %s', line)
        if changes and write:
            self._write()
        return changes

    def discard(self, key: str) -> None:
        """Forget a device nova-mig removed."""
        if self._devices.pop(key, None) is not None:
            self._write()


def _identity(found: dict[str, typing.Any]) -> str:
    return ', '.join('%s %s' % (k, found[k]) for k in IDENTITY_KEYS
                     if found.get(k) is not None) or 'unknown'


def _same(entry: dict[str, typing.Any], found: dict[str, typing.Any]) -> bool:
    """Whether a recorded device is the one present (vendor VFIO)."""
    for key in IDENTITY_KEYS:
        recorded, now = entry.get(key), found.get(key)
        if recorded is not None and now is not None:
            return bool(str(recorded) == str(now))
    return True


def present(report: host_records.HostReport) -> Present:
    """The vGPU devices of a host with the identity they are owned by.

    An mdev is its UUID; a vendor-VFIO vGPU is keyed by its VF with the
    vGPU instance UUID the driver reports for that VF (None where it
    cannot tell) and its type ID.
    """
    by_parent = {vgpu.parent: vgpu.mdev_uuid for gpu in report.gpus
                 for vgpu in gpu.active_vgpus if vgpu.parent}
    result: Present = {}
    for dev in report.vgpu_devices():
        if dev['uuid']:
            result[dev['uuid']] = {}
        else:
            result[dev['parent']] = {'vgpu_uuid': by_parent.get(dev['parent']),
                                     'type_id': dev['type']}
    return result
