# SPDX-License-Identifier: Apache-2.0

"""The example layouts fit the example hosts their "# fits:" line names.

Each layout of etc/nova-mig/layouts/ (but the mig-parted config) names, in
a "# fits: etc/nova-mig/hosts/NAME.yaml" line, the example host it is
written for; ``tools/quickstart.sh demo --host NAME`` plans it there. On
that host the plan refuses no GPU, applying it converges, and the host
then matches it: "layout plan" says there is nothing to do and exits 0.
"""

import glob
import json
import os
import re

from tests.functional import layout_base

LAYOUTS = os.path.join(layout_base.base.REPO, 'etc', 'nova-mig', 'layouts')
FITS_RE = re.compile(r'^# fits: etc/nova-mig/hosts/(?P<host>[\w.-]+\.yaml)'
                     r'(?P<foreign> \(with --include-foreign)?', re.M)


def example_layouts() -> dict[str, tuple[str, bool]]:
    """layout path -> (host file name, needs --include-foreign)."""
    result = {}
    for path in sorted(glob.glob(os.path.join(LAYOUTS, '*.yaml'))):
        with open(path, encoding='utf-8') as f:
            text = f.read()
        if 'mig-configs:' in text:
            continue    # a mig-parted config, not a layout
        match = FITS_RE.search(text)
        result[path] = (match['host'] if match else '',
                        bool(match and match['foreign']))
    return result


class TestExampleLayouts(layout_base.LayoutTestCase):

    def test_every_layout_names_an_existing_host(self):
        layouts = example_layouts()
        self.assertGreaterEqual(len(layouts), 4)
        for path, (host, _foreign) in layouts.items():
            self.assertTrue(host, '%s has no "# fits:" line' % path)
            self.assertTrue(os.path.exists(layout_base.base.host_file(host)),
                            path)

    def test_each_layout_applies_to_its_host(self):
        for path, (host, foreign) in example_layouts().items():
            with self.subTest(layout=os.path.basename(path)):
                self.use_host(host, os.path.join(
                    self.tmpdir, os.path.basename(path)))
                flags = ['--include-foreign'] if foreign else []
                rc, out, err = self.cli('layout', 'plan', path, *flags,
                                        '-f', 'json')
                self.assertEqual(0, rc, err)
                self.assertNotIn('refused',
                                 [r['Status'] for r in json.loads(out)])
                # The simulated host has no Compute API to ask.
                apply_flags = (flags + ['--force-with-enabled-service']
                               if foreign else [])
                rc, out, err = self.cli('layout', 'apply', path,
                                        *apply_flags)
                self.assertEqual(0, rc, out + err)
                rc, out, err = self.cli('layout', 'plan', path)
                self.assertEqual((0, ''), (rc, out), err)
                self.assertIn('nothing to do: host', err)


class TestPlanExitCodes(layout_base.LayoutTestCase):

    def test_a_refused_gpu_exits_3_with_one_line_reasons(self):
        path = os.path.join(LAYOUTS, 'a100-balanced.yaml')
        rc, out, err = self.cli('layout', 'plan', path, '-f', 'json')
        self.assertEqual(3, rc, err)
        refused = [r for r in json.loads(out) if r['Action'] == 'refused']
        self.assertEqual(1, len(refused))
        self.assertTrue(refused[0]['Reason'].startswith('blocked by: '))
        self.assertNotIn('\n', refused[0]['Reason'])
        for row in json.loads(out):
            self.assertNotIn('  ', row['Description'])
