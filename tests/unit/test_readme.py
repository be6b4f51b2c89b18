# SPDX-License-Identifier: Apache-2.0

"""README.rst: what a new user reads first stays readable and current."""

import os
import re

from tests import base

TOP = os.path.abspath(os.path.join(os.path.dirname(__file__), os.pardir,
                                   os.pardir))


class ReadmeTestCase(base.TestCase):

    def setUp(self):
        super().setUp()
        with open(os.path.join(TOP, 'README.rst'), encoding='utf-8') as f:
            self.text = f.read()

    def test_no_line_over_79_columns(self):
        self.assertEqual([], [(n, len(line)) for n, line in enumerate(
            self.text.splitlines(), 1) if len(line) > 79])

    def test_roadmap_lists_only_what_is_not_built(self):
        roadmap = self.text.split('\nRoadmap\n-------\n', 1)[1]
        self.assertNotIn('available', roadmap)
        self.assertIn('Not built yet', roadmap)

    def test_going_to_production_names_existing_pages(self):
        section = self.text.split('\nGoing to production\n', 1)[1].split(
            '\nConfiguration\n', 1)[0]
        pages = re.findall(r'``(doc/source/[\w/.-]+)``', section)
        self.assertIn('doc/source/install.rst', pages)
        for page in pages:
            self.assertTrue(os.path.exists(os.path.join(TOP, page)), page)
