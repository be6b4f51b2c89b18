# SPDX-License-Identifier: Apache-2.0

"""Tests for the parsed-catalog cache of the simulator."""

import os
import shutil

import fixtures

from nova_mig.simulator import gpu_catalog
from tests import base


class TestCatalogCache(base.TestCase):

    def setUp(self):
        super().setUp()
        self.cache_home = os.path.join(self.tmpdir, 'cache')
        self.useFixture(fixtures.EnvironmentVariable(
            'XDG_CACHE_HOME', self.cache_home))
        self.cache_dir = os.path.join(self.cache_home, 'nova-mig')
        self.path = os.path.join(self.tmpdir, 'catalog.yaml')
        shutil.copy(gpu_catalog.CATALOG_PATH, self.path)

    def _entries(self):
        return sorted(os.listdir(self.cache_dir))

    def test_cached_equals_parsed(self):
        parsed = gpu_catalog.Catalog.load(self.path)
        self.assertFalse(os.path.exists(self.cache_dir))
        first = gpu_catalog.Catalog.load(self.path, cache=True)
        self.assertEqual(1, len(self._entries()))
        self.assertEqual(0o700, os.stat(self.cache_dir).st_mode & 0o777)
        second = gpu_catalog.Catalog.load(self.path, cache=True)
        self.assertEqual(parsed.models, first.models)
        self.assertEqual(parsed.models, second.models)

    def test_changed_file_is_parsed_again(self):
        gpu_catalog.Catalog.load(self.path, cache=True)
        before = self._entries()
        with open(self.path) as f:
            text = f.read()
        key = next(iter(gpu_catalog.Catalog.load(self.path).models))
        nvml_name = gpu_catalog.Catalog.load(self.path).models[key].nvml_name
        with open(self.path, 'w') as f:
            f.write(text.replace(nvml_name, nvml_name + ' Renamed', 1))
        changed = gpu_catalog.Catalog.load(self.path, cache=True)
        self.assertEqual(nvml_name + ' Renamed',
                         changed.models[key].nvml_name)
        after = self._entries()
        # The stale entry went when the new one was written.
        self.assertEqual(1, len(after))
        self.assertNotEqual(before, after)

    def test_damaged_entry_is_replaced(self):
        gpu_catalog.Catalog.load(self.path, cache=True)
        entry = os.path.join(self.cache_dir, self._entries()[0])
        with open(entry, 'wb') as f:
            f.write(b'\x00garbage')
        again = gpu_catalog.Catalog.load(self.path, cache=True)
        self.assertEqual(gpu_catalog.Catalog.load(self.path).models,
                         again.models)
        with open(entry, 'rb') as f:
            self.assertNotEqual(b'\x00garbage', f.read())

    def test_unwritable_cache_only_slower(self):
        # A file where the directory should be: nothing can be written.
        os.makedirs(self.cache_home)
        with open(self.cache_dir, 'w') as f:
            f.write('not a directory')
        loaded = gpu_catalog.Catalog.load(self.path, cache=True)
        self.assertEqual(gpu_catalog.Catalog.load(self.path).models,
                         loaded.models)
