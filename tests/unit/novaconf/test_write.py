# SPDX-License-Identifier: Apache-2.0

"""Tests for writing the Nova configuration: atomic, change-only."""

import dataclasses
import os

from nova_mig import exception
from nova_mig import fileutils
from nova_mig.novaconf import config_writer
from nova_mig.novaconf import render
from nova_mig.novaconf import type_plan
from tests import base
from tests.unit.novaconf import fakes


class FailingWriter:
    """Fails writing one path."""

    def __init__(self, fail_path):
        self.fail_path = fail_path

    def write_if_changed(self, path, content, mode):
        if path == self.fail_path:
            raise PermissionError(13, 'Permission denied', path)
        return fileutils.write_if_changed(path, content, mode)

    def remove(self, path):
        return fileutils.remove(path)


class _Files(base.TestCase):
    """A plan and the two paths it is written to."""

    def setUp(self):
        super().setUp()
        self.report, _ = fakes.mixed_report()
        self.config = type_plan.build(self.conf, self.report)
        self.snippet = render.render_snippet(self.config)
        self.provider = render.render_provider_config(self.config)
        self.snippet_path = os.path.join(self.tmpdir, 'nova.conf.d',
                                         '50-nova-mig.conf')
        self.provider_path = os.path.join(self.tmpdir, 'provider_config',
                                          'nova-mig.yaml')

    def run_apply(self, **kw):
        return config_writer.write(self.config, self.report, self.snippet_path,
                                   self.provider_path, **kw)


class TestWrite(_Files):

    def test_idempotent(self):
        first = self.run_apply()
        self.assertTrue(first.snippet_written)
        self.assertTrue(first.provider_config_written)
        self.assertTrue(first.restart_needed)
        self.assertEqual(self.snippet, fileutils.read_text(self.snippet_path))
        second = self.run_apply()
        self.assertFalse(second.snippet_written)
        self.assertFalse(second.provider_config_written)
        self.assertFalse(second.restart_needed)
        self.assertEqual('', second.diff)

    def test_dry_run_writes_nothing(self):
        result = self.run_apply(dry_run=True)
        self.assertFalse(os.path.exists(self.snippet_path))
        self.assertFalse(os.path.exists(self.provider_path))
        self.assertTrue(result.restart_needed)
        self.assertIn('+[devices]', result.diff)
        self.assertIn('--- /dev/null', result.diff)

    def test_dry_run_diff_against_current(self):
        self.run_apply()
        with open(self.snippet_path, 'a') as f:
            f.write('[extra]\n')
        result = self.run_apply(dry_run=True)
        self.assertIn('-[extra]', result.diff)
        self.assertTrue(result.snippet_changed)
        self.assertFalse(result.provider_config_changed)
        self.assertIn('[extra]', fileutils.read_text(self.snippet_path))

    def test_provider_failure_restores_snippet(self):
        fileutils.write_if_changed(self.snippet_path, '# old\n')
        e = self.assertRaises(exception.NovaConfigWriteError,
                              self.run_apply,
                              writer=FailingWriter(self.provider_path))
        self.assertIn(self.provider_path, str(e))
        self.assertIn('restored', str(e))
        self.assertEqual('# old\n', fileutils.read_text(self.snippet_path))

    def test_provider_failure_removes_new_snippet(self):
        self.assertRaises(exception.NovaConfigWriteError, self.run_apply,
                          writer=FailingWriter(self.provider_path))
        self.assertFalse(os.path.exists(self.snippet_path))

    def test_snippet_failure_writes_nothing(self):
        e = self.assertRaises(exception.NovaConfigWriteError,
                              self.run_apply,
                              writer=FailingWriter(self.snippet_path))
        self.assertIn('Permission denied; nothing was written', str(e))
        self.assertFalse(os.path.exists(self.provider_path))

    def test_rule_violation_writes_nothing(self):
        self.config.assignments[0] = dataclasses.replace(
            self.config.assignments[0], type_id='nvidia-999')
        self.assertRaises(exception.NovaConfigRuleViolation, self.run_apply)
        self.assertFalse(os.path.exists(self.snippet_path))
        self.assertFalse(os.path.exists(self.provider_path))


class TestPlanHost(base.TestCase):

    def test_product_ids_come_from_sysfs(self):
        report, vfs = fakes.mixed_report()
        device = os.path.join(self.tmpdir, 'bus', 'pci', 'devices', vfs[0])
        os.makedirs(device)
        with open(os.path.join(device, 'device'), 'w') as f:
            f.write('0x20B6\n')
        config = config_writer.plan_host(self.conf, report, self.tmpdir)
        ids = {a.address: a.product_id for a in config.assignments}
        self.assertEqual('20b6', ids.pop(vfs[0]))
        # Unreadable IDs fall back to the GPU's NVML ID.
        self.assertEqual({'20b5'}, set(ids.values()))


class TestTransaction(_Files):
    """The snippet and provider config as one transaction."""

    def half_written(self):
        """A run that died between the two renames."""
        fileutils.write_if_changed(self.snippet_path, '# old snippet\n')
        fileutils.write_if_changed(self.provider_path, '# old provider\n')
        journal = config_writer.journal_path(self.snippet_path)
        config_writer._journal(fileutils, journal, [
            (self.snippet_path, '# old snippet\n'),
            (self.provider_path, '# old provider\n')])
        fileutils.write_if_changed(self.snippet_path, self.snippet)
        return journal

    def test_recover_rolls_both_back(self):
        journal = self.half_written()
        done = config_writer.recover(self.snippet_path, self.provider_path,
                                     fileutils)
        self.assertEqual([self.snippet_path, self.provider_path], done)
        self.assertEqual('# old snippet\n',
                         fileutils.read_text(self.snippet_path))
        self.assertEqual('# old provider\n',
                         fileutils.read_text(self.provider_path))
        self.assertFalse(os.path.exists(journal))

    def test_next_write_ends_with_both_new(self):
        journal = self.half_written()
        result = self.run_apply()
        self.assertTrue(result.snippet_written)
        self.assertEqual(self.snippet, fileutils.read_text(self.snippet_path))
        self.assertEqual(self.provider,
                         fileutils.read_text(self.provider_path))
        self.assertFalse(os.path.exists(journal))

    def test_no_journal_left_after_a_write(self):
        self.run_apply()
        self.assertEqual(['50-nova-mig.conf'],
                         os.listdir(os.path.dirname(self.snippet_path)))

    def test_unreadable_journal_names_it(self):
        journal = config_writer.journal_path(self.snippet_path)
        fileutils.write_if_changed(journal, '{"no files": 1}\n')
        e = self.assertRaises(exception.NovaConfigWriteError, self.run_apply)
        self.assertIn(journal, str(e))
        self.assertFalse(os.path.exists(self.provider_path))

    def test_stale_temporary_files_are_removed(self):
        directory = os.path.dirname(self.provider_path)
        os.makedirs(directory)
        stale = os.path.join(directory, '.nova-mig.yaml.abc123.tmp')
        young = os.path.join(directory, '.nova-mig.yaml.def456.tmp')
        for path in (stale, young):
            with open(path, 'w') as f:
                f.write('partial')
        old = os.stat(stale).st_mtime - config_writer.STALE_TMP_AGE - 1
        os.utime(stale, (old, old))
        self.run_apply()
        self.assertFalse(os.path.exists(stale))
        self.assertTrue(os.path.exists(young))
