# SPDX-License-Identifier: Apache-2.0

"""Sphinx configuration of the nova-mig release notes."""

project = 'nova-mig Release Notes'
copyright = '2026, nova-mig developers'
author = 'nova-mig developers'

extensions = [
    'reno.sphinxext',
]

source_suffix = '.rst'
master_doc = 'index'
exclude_patterns = ['_build']
pygments_style = 'sphinx'

html_theme = 'alabaster'
html_title = 'nova-mig Release Notes'
html_static_path = []
