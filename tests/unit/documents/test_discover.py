# SPDX-License-Identifier: Apache-2.0

"""The discover document's version rule and reader (nova_mig.documents)."""

import json
import os

from nova_mig.documents import discover
from nova_mig.model import host_records
from tests import base


def _document(**extra):
    doc = {'hostname': 'compute-1', 'device_mode': 'mdev', 'gpus': [{
        'pci_address': '0000:41:00.0', 'model': 'NVIDIA H100 80GB HBM3',
        'profiles': [], 'gpu_instances': []}]}
    doc.update(extra)
    return doc


class TestVersion(base.TestCase):

    def test_written_version_is_the_read_version(self):
        report = host_records.HostReport(
            hostname='compute-1', device_mode='mdev', gpus=[], parents=[],
            mdevs=[], sriov={}, domains=[], node_devices=[])
        self.assertEqual(discover.VERSION, report.as_dict()['version'])
        self.assertEqual('version', next(iter(report.as_dict())))

    def test_current_version_read(self):
        doc = _document(version=discover.VERSION)
        self.assertIs(doc, discover.check(doc))

    def test_document_before_versions_read_as_version_1(self):
        doc = _document()
        self.assertIs(doc, discover.check(doc))

    def test_newer_version_is_one_line_naming_the_key(self):
        e = self.assertRaises(discover.DocumentError, discover.check,
                              _document(version=2))
        self.assertEqual(
            "version: unsupported version 2; this nova-mig reads version "
            "1 (upgrade nova-mig where the plan is made)", str(e))

    def test_version_of_another_type_refused(self):
        e = self.assertRaises(discover.DocumentError, discover.check,
                              _document(version='1'))
        self.assertIn("version: unsupported version '1'", str(e))

    def test_read_checks_the_file(self):
        path = os.path.join(self.tmpdir, 'compute-1.json')
        with open(path, 'w') as f:
            json.dump(_document(version=7), f)
        e = self.assertRaises(discover.DocumentError, discover.read, path)
        self.assertIn('version: unsupported version 7', str(e))
