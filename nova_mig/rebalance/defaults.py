# SPDX-License-Identifier: Apache-2.0

"""The rebalance defaults: one set for the CLI, the playbook and the sim.

``openstack mig rebalance plan`` and ``openstack mig capacity`` take their
option defaults from here, ``playbooks/rebalance.yaml`` passes no value of
its own unless the operator sets one (its variables default to these
values, checked by a test), and ``tools/fleet_sim.py`` measures the
product with exactly these settings.
"""

#: NoValidHost boots counted, and the largest age of a discover document.
WINDOW = '24h'
#: Re-partitions allowed per GPU per UTC calendar day.
MAX_PER_GPU_DAY = 1
#: Seconds the solver may spend per pass.
TIME_LIMIT = 60.0
#: How often the operator is expected to run the playbook (the simulation
#: replans this often; the playbook runs when cron or the operator says).
RUN_PERIOD = '1h'
#: The demand planned for: ``forecast``, the NoValidHost boots counted
#: once (below) and, per profile, the free instances the forecast of the
#: demand samples says the coming hours need
#: (:mod:`nova_mig.rebalance.forecast`), as ``rebalance plan --history``
#: does (the playbook always passes it); ``once``, only the boots since
#: the last grow of their profile's capacity (``--history
#: --no-forecast``; :mod:`nova_mig.rebalance.history`); ``window``, every
#: boot of the window, each run again (without ``--history``).
DEMAND = 'forecast'
#: The demand forecast (:mod:`nova_mig.rebalance.forecast`): days of
#: samples read, and the smoothing constants of its Holt-Winters
#: forecast (level, daily season, weight of the same hour last week).
FORECAST_DAYS = 14
#: The most hours ahead the forecast covers (fewer when the GPU's
#: budget allows its next re-partition sooner, at midnight UTC).
FORECAST_HOURS = 6
#: Hours a failed boot counts for in the forecast when no server of its
#: profile ended within the window (no lifetime measured).
FAILED_BOOT_HOURS = 1.0
ALPHA = 0.3
GAMMA = 0.3
WEEKLY = 0.3
