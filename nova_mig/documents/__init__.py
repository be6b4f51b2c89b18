# SPDX-License-Identifier: Apache-2.0

"""Versioned documents nova-mig writes on one host and reads on another.

Each document has one module here holding its version, its JSON schema and
its one reader, shared by the command line, the rebalance planner and the
playbook (which runs those commands):

* :mod:`nova_mig.documents.discover`: ``nova-mig discover -f json``.

The other documents' schemas stay with the code that owns them: the
layout file's in :mod:`nova_mig.layout.schema` (``LAYOUT_SCHEMA``, read
by :mod:`nova_mig.layout.spec`), the simulated-host file's in
:mod:`nova_mig.simulator.hostfile` (``HOST_SCHEMA``) and the rebalance
targets file's in :mod:`nova_mig.rebalance.demand`.
"""
