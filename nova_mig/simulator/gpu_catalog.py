# SPDX-License-Identifier: Apache-2.0

"""The catalog of GPU models the simulated host can hold."""

import dataclasses
import functools
import hashlib
import json
import logging
import os
import typing

from nova_mig import fileutils
from nova_mig.model import gpu_records
from nova_mig.model import vgpu_types
from nova_mig.simulator import sim_exception

LOG = logging.getLogger(__name__)

#: A mapping of the catalog file (or a host file's ``models``) as YAML
#: loads it: plain data, checked where it is read.
Data = dict[str, typing.Any]

CATALOG_PATH = os.path.join(os.path.dirname(__file__), 'catalog.yaml')

#: Full-size compute-instance profile ID for each GPU-instance slice count
#: (``nvidia-smi mig -lcip``: 1c.1g = 0 ... 7c.7g = 4).
CI_PROFILE_FOR_SLICES = {1: 0, 2: 1, 3: 2, 4: 3, 7: 4}


@dataclasses.dataclass(frozen=True)
class GpuModel:
    """One GPU model of the catalog."""

    key: str                      # "A100-PCIE-80GB"
    description: str
    nvml_name: str
    pci_device_id: int            # NVML form: 0x20B510DE
    memory_total_mb: int
    compute_capability: tuple[int, int]
    board: str
    memory_slices: int | None
    sriov_totalvfs: int
    profiles: tuple[gpu_records.GpuInstanceProfile, ...]
    vgpu_types: tuple[gpu_records.VgpuType, ...]

    @property
    def pci_device(self) -> int:
        """The 16-bit PCI device ID, as sysfs ``device`` shows it."""
        return self.pci_device_id >> 16

    @property
    def mig_capable(self) -> bool:
        return bool(self.profiles)

    @property
    def sriov(self) -> bool:
        return self.sriov_totalvfs > 0

    def profile(self,
                profile_id: int) -> gpu_records.GpuInstanceProfile | None:
        for profile in self.profiles:
            if profile.id == profile_id:
                return profile
        return None

    def profile_by_name(self, name: str
                        ) -> gpu_records.GpuInstanceProfile | None:
        for profile in self.profiles:
            if profile.name == name:
                return profile
        return None

    def vgpu_type(self, type_id: int) -> gpu_records.VgpuType | None:
        for vgpu_type in self.vgpu_types:
            if vgpu_type.id == type_id:
                return vgpu_type
        return None

    def vgpu_type_by_name(self, name: str) -> gpu_records.VgpuType | None:
        """Find a type by its name, with or without "NVIDIA "/"GRID "."""
        wanted = vgpu_types.bare_name(name)
        for vgpu_type in self.vgpu_types:
            if vgpu_types.bare_name(vgpu_type.name) == wanted:
                return vgpu_type
        return None


def _placements(text: str) -> tuple[gpu_records.Placement, ...]:
    result = []
    for item in text.split():
        start, size = item.split(':')
        result.append(gpu_records.Placement(int(start), int(size)))
    return tuple(result)


def _profile(data: Data) -> gpu_records.GpuInstanceProfile:
    return gpu_records.GpuInstanceProfile(
        id=int(data['id']), name=data['name'],
        slice_count=int(data['slices']), memory_mb=int(data['memory_mb']),
        instance_count=int(data['instances']),
        multiprocessor_count=int(data['multiprocessors']),
        placements=_placements(data['placements']))


def _vgpu_type(data: Data) -> gpu_records.VgpuType:
    profile = data.get('gpu_instance_profile')
    per_gi = data.get('max_instances_per_gi')
    return gpu_records.VgpuType(
        id=int(data['id']), name=data['name'],
        gpu_instance_profile_id=None if profile is None else int(profile),
        framebuffer_mb=int(data['framebuffer_mb']),
        max_instances=int(data['max_instances']),
        max_instances_per_gi=None if per_gi is None else int(per_gi))


def _model(key: str, data: Data, tables: Data) -> GpuModel:
    major, minor = str(data['compute_capability']).split('.')
    table = data.get('mig_profile_table')
    # A host file's own models (a captured host) list them inline.
    raw = tables[table] if table else data.get('mig_profiles') or ()
    profiles = tuple(_profile(p) for p in raw)
    return GpuModel(
        key=key, description=data.get('description', key),
        nvml_name=data['nvml_name'],
        pci_device_id=int(str(data['pci_device_id']), 16),
        memory_total_mb=int(data['memory_total_mb']),
        compute_capability=(int(major), int(minor)),
        board=data['board'],
        memory_slices=data.get('memory_slices'),
        sriov_totalvfs=int(data.get('sriov_totalvfs') or 0),
        profiles=profiles,
        vgpu_types=tuple(_vgpu_type(t) for t in data.get('vgpu_types')
                         or ()))


def _load_yaml(raw: bytes) -> Data:
    # Imported here: with the cache, a run reads no YAML.
    import yaml

    # libyaml's loader when PyYAML was built with it: several times faster.
    loader = getattr(yaml, 'CSafeLoader', yaml.SafeLoader)
    data: Data = yaml.load(raw.decode('utf-8'), Loader=loader)
    return data


def _cache_dir() -> str:
    """Where parsed catalogs are kept: ``$XDG_CACHE_HOME/nova-mig``."""
    base = (os.environ.get('XDG_CACHE_HOME') or
            os.path.join(os.path.expanduser('~'), '.cache'))
    return os.path.join(base, 'nova-mig')


def _parsed(path: str, cache: bool) -> Data:
    """The catalog file as plain data, from a cache when it has not changed.

    Parsing the YAML is most of a simulated ``discover``'s start-up, so with
    ``cache`` the parsed form is kept as JSON in the user's cache directory,
    named by the file's SHA-256: a changed catalog is parsed again, a stale
    entry is never read and is removed when the new one is written. A
    cache that cannot be read or written is only slower.
    """
    with open(path, 'rb') as stream:
        raw = stream.read()
    if not cache:
        return _load_yaml(raw)
    directory = _cache_dir()
    name = 'catalog-%s.json' % hashlib.sha256(raw).hexdigest()[:32]
    cache_file = os.path.join(directory, name)
    try:
        with open(cache_file, 'rb') as stream:
            data = json.load(stream)
        if isinstance(data, dict):
            return data
    except (OSError, ValueError):
        pass
    data = _load_yaml(raw)
    try:
        os.makedirs(directory, mode=0o700, exist_ok=True)
        fileutils.write_if_changed(cache_file, json.dumps(data), mode=0o600)
        for entry in os.listdir(directory):
            if (entry != name and entry.startswith('catalog-') and
                    entry.endswith('.json')):
                os.unlink(os.path.join(directory, entry))
    except (OSError, ValueError) as e:
        LOG.debug('Catalog cache %s not written: %s', cache_file, e)
    return data


class Catalog:
    """The GPU models of a catalog file, by key."""

    def __init__(self, models: dict[str, GpuModel], path: str):
        self.models = models
        self.path = path

    @classmethod
    def load(cls, path: str = CATALOG_PATH, cache: bool = False
             ) -> 'Catalog':
        """The catalog of ``path``.

        :param cache: keep the parsed file in the user's cache directory
            (the shipped catalog; see :func:`_parsed`).
        """
        data = _parsed(path, cache)
        tables = data.get('mig_profile_tables') or {}
        models = {key: _model(key, value, tables)
                  for key, value in data['models'].items()}
        LOG.debug('Loaded %d GPU models from %s', len(models), path)
        return cls(models, path)

    def known(self) -> list[str]:
        return sorted(self.models)

    def by_pci_device(self, pci_device_id: int) -> list[GpuModel]:
        """The models of one PCI device ID, by key.

        The board prefix of the type names does not tell a card: the RTX
        PRO 4500 and 6000 Blackwell are both ``DC``. One card may have
        several models, one per vGPU driver generation whose types differ
        (the RTX PRO 6000 under vGPU 19 and 20).

        :param pci_device_id: NVML's form (``0x2BB510DE``) or the 16-bit
            device ID sysfs shows (``0x2BB5``).
        """
        device = (pci_device_id >> 16 if pci_device_id > 0xFFFF
                  else pci_device_id)
        return [self.models[k] for k in sorted(self.models)
                if self.models[k].pci_device == device]

    def extended(self, models: Data | None) -> 'Catalog':
        """This catalog plus the models a host file defines itself.

        ``models`` maps keys to entries of the catalog's ``models`` form,
        with the profiles inline under ``mig_profiles`` (what
        ``nova-mig discover --host-file`` writes for a captured host).

        :raises: KeyError, ValueError or TypeError for a malformed entry.
        """
        if not models:
            return self
        merged = dict(self.models)
        for key, value in models.items():
            merged[str(key)] = _model(str(key), value, {})
        return Catalog(merged, self.path)

    def get(self, key: str, path: str = '<catalog>',
            where: str = 'model') -> GpuModel:
        """The model ``key``.

        :param path: host file naming the model, for the error message.
        :param where: key path of the model in that file.
        :raises: :class:`nova_mig.simulator.sim_exception.UnknownGpuModel`
        """
        try:
            return self.models[key]
        except (KeyError, TypeError):
            raise sim_exception.UnknownGpuModel(
                path=path, model=key, where=where,
                known=', '.join(self.known()))


def reference_cards() -> list[Data]:
    """The shipped catalog as plain data, for ``nova-mig self-check``.

    One entry per model: ``key``, ``pci_device`` (16-bit), ``nvml_name``,
    ``profiles`` (``id``, ``name``, ``instances``) and ``vgpu_types``
    (bare ``name``, ``profile`` name or None for time-sliced types).
    Loaded through the ``nova_mig.reference_catalogs`` entry point, so
    product code does not import the simulator.
    """
    def profile_name(model: GpuModel, profile_id: int | None) -> str | None:
        found = (model.profile(profile_id) if profile_id is not None
                 else None)
        return found.name if found else None

    cards = []
    for key, model in sorted(default_catalog().models.items()):
        cards.append({
            'key': key, 'pci_device': model.pci_device,
            'nvml_name': model.nvml_name,
            'profiles': [{'id': p.id, 'name': p.name,
                          'instances': p.instance_count}
                         for p in model.profiles],
            'vgpu_types': [{
                'name': vgpu_types.bare_name(t.name),
                'profile': profile_name(model, t.gpu_instance_profile_id)}
                for t in model.vgpu_types]})
    return cards


@functools.lru_cache(maxsize=None)
def default_catalog() -> Catalog:
    """The catalog shipped with nova-mig, loaded once."""
    return Catalog.load(CATALOG_PATH, cache=True)
