# SPDX-License-Identifier: Apache-2.0

"""Sphinx configuration of the nova-mig documentation."""

import importlib.util

project = 'nova-mig'
copyright = '2026, nova-mig developers'
author = 'nova-mig developers'

extensions = [
    'sphinx.ext.autodoc',
    'oslo_config.sphinxext',
    'cliff.sphinxext',
]
# reno is in doc/requirements.txt; the release notes page only links to it.
if importlib.util.find_spec('reno') is not None:
    extensions.append('reno.sphinxext')

# cliff.sphinxext: name commands as the user types them.
autoprogram_cliff_application = 'nova-mig'

source_suffix = '.rst'
master_doc = 'index'
exclude_patterns = ['_build']
pygments_style = 'sphinx'

# The default theme needs nothing from the network at build time.
html_theme = 'alabaster'
html_title = 'nova-mig'
html_static_path = []
