# SPDX-License-Identifier: Apache-2.0

"""Versioned documents nova-mig writes and reads, in one place.

One module per document, each with its ``VERSION``, its JSON schema
(``SCHEMA``), one reader and one writer, shared by the command line,
``layout/``, the rebalance planner, the simulator and the playbook (which
runs those commands):

* :mod:`nova_mig.documents.discover`: ``nova-mig discover -f json``.
* :mod:`nova_mig.documents.layout_file`: the layout file (``nova-mig
  layout``, ``rebalance apply``, the rebalance planner's output).
* :mod:`nova_mig.documents.targets_file`: the rebalance targets file.
* :mod:`nova_mig.documents.simulated_host_file`: the simulated-host file
  (``discover --host-file`` writes it, the simulator reads it).

:mod:`nova_mig.documents.validation` holds what the schemas are built
from and how a document is checked: every error is one line naming the
key path and why. The schemas are published in
``doc/source/reference/documents.rst`` (``tools/document_schemas.py``
writes them as JSON files there).
"""
