"""The record of the vGPU devices nova-mig created on this host.

``layout apply`` and the boot restore add a device when they create it; the
reaper removes only recorded devices unless told ``--include-foreign``, so
devices made by Nova or another tool are never taken for ours.  The record
is a JSON file under ``[host]state_dir``, replaced atomically.
"""

import datetime
import json
import os
import typing

from oslo_log import log as logging

from nova_mig import exception
from nova_mig import fileutils

LOG = logging.getLogger(__name__)

FILE_NAME = 'owned-devices.json'
VERSION = 1


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
        try:
            with open(self.path) as f:
                data = json.load(f)
        except FileNotFoundError:
            return {}
        except OSError as e:
            raise exception.StateFileError(path=self.path,
                                           reason=e.strerror or e)
        except ValueError as e:
            raise exception.StateFileError(path=self.path,
                                           reason='not JSON: %s' % e)
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

    def _write(self) -> None:
        fileutils.write_json(self.path, {'version': VERSION,
                                         'devices': self._devices})

    def owns(self, key: str) -> bool:
        return key in self._devices

    def get(self, key: str) -> dict[str, typing.Any] | None:
        return self._devices.get(key)

    def devices(self) -> dict[str, dict[str, typing.Any]]:
        return dict(self._devices)

    def add(self, key: str, **details: typing.Any) -> None:
        """Record a device nova-mig created (UUID or VF address)."""
        entry = dict(details)
        entry.setdefault('created_at', _now())
        self._devices[key] = entry
        self._write()

    def discard(self, key: str) -> None:
        """Forget a device nova-mig removed."""
        if self._devices.pop(key, None) is not None:
            self._write()
