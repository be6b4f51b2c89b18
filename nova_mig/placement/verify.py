# SPDX-License-Identifier: Apache-2.0

"""Compare the GPU providers' inventories in Placement with the host.

After a vGPU type change nova-compute may keep reporting the old type's
resource class and capacity (it does while vGPU devices of the old type
still exist), and instances then fail with NoValidHost. :func:`verify`
finds that drift, and every other difference between what the host offers
(:func:`nova_mig.placement.host_offer.providers`) and Placement's
inventories.
"""

import dataclasses
import logging
import time
import typing

from oslo_config import cfg
import tenacity

from nova_mig.novaconf import type_plan
from nova_mig.placement import api_client
from nova_mig.placement import host_offer
from nova_mig.placement import ledger
from nova_mig.placement import sync

LOG = logging.getLogger(__name__)

MISSING_PROVIDER = 'missing provider'
STALE_CLASS = 'stale class'
MISSING_CLASS = 'missing class'
WRONG_TOTAL = 'wrong total'
UNEXPECTED_PROVIDER = 'unexpected provider'


@dataclasses.dataclass
class Drift:
    """One difference between Placement and the host."""

    provider: str
    kind: str
    expected: str
    actual: str
    hint: str


class CheckedProvider(typing.TypedDict):
    """One provider verified: its inventory expected and found."""

    provider: str
    uuid: str
    expected: dict[str, int]
    actual: dict[str, int]
    ok: bool


@dataclasses.dataclass
class VerifyResult:
    hostname: str
    checked: list[CheckedProvider]
    drift: list[Drift]
    requests: int = 0

    @property
    def ok(self) -> bool:
        return not self.drift

    def as_dict(self) -> dict[str, typing.Any]:
        return dataclasses.asdict(self) | {'ok': self.ok}


def _fmt(inventory: dict[str, int]) -> str:
    return ', '.join('%s: %d' % kv for kv in sorted(inventory.items())) or \
        '(none)'


def compare(name: str, expected: host_offer.ExpectedProvider | None,
            actual: dict[str, int]) -> list[Drift]:
    """Drift of one provider: expected class and total vs. its inventory."""
    if expected is None:
        if not actual:
            return []
        return [Drift(name, UNEXPECTED_PROVIDER, '(none)', _fmt(actual),
                      'the host no longer offers vGPUs on this device, but '
                      'Placement still does; restart nova-compute with '
                      'the configuration nova-mig generated')]
    want = {expected.resource_class: expected.total}
    drift = []
    stale = {rc: n for rc, n in actual.items()
             if rc != expected.resource_class}
    if stale:
        drift.append(Drift(
            name, STALE_CLASS, _fmt(want), _fmt(actual),
            'Placement still shows the old vGPU type\'s class and '
            'capacity; nova-compute keeps them while vGPU devices of '
            'the old type exist: remove them, then restart '
            'nova-compute'))
    if expected.resource_class not in actual:
        if not stale:
            drift.append(Drift(
                name, MISSING_CLASS, _fmt(want), _fmt(actual),
                'nova-compute does not report %s here; check '
                '[devices]enabled_mdev_types and [mdev_*]mdev_class'
                % expected.resource_class))
    elif actual[expected.resource_class] != expected.total:
        drift.append(Drift(
            name, WRONG_TOTAL, _fmt(want), _fmt(actual),
            'capacity differs; check [mdev_*]max_instances and that '
            'nova-compute runs with the generated configuration'))
    return drift


def verify(conf: cfg.ConfigOpts, config: type_plan.NovaConfig,
           client: api_client.PlacementClient) -> VerifyResult:
    """Check every GPU provider of the host; read only.

    :param config: the host's Nova configuration plan
        (:func:`nova_mig.novaconf.type_plan.build`).
    :returns: the providers checked and the drift found.
    :raises: :class:`nova_mig.exception.NovaMigException` subclasses for
        Placement errors and a missing compute node provider.
    """
    before = client.requests
    hostname = host_offer.hypervisor_hostname(conf, config)
    expected = host_offer.providers(config, hostname)
    state = ledger.SyncState.load(ledger.SyncState.path_for(conf))
    _, tree = sync.find_tree(client, hostname, state)
    prefix = host_offer.provider_prefix(hostname, config.device_mode)
    names = set(expected) | {n for n in tree if n.startswith(prefix)}
    checked: list[CheckedProvider] = []
    drift: list[Drift] = []
    for name in sorted(names):
        exp = expected.get(name)
        rp = tree.get(name)
        if rp is None:
            assert exp is not None  # the name came from expected
            drift.append(Drift(
                name, MISSING_PROVIDER,
                _fmt({exp.resource_class: exp.total}), '(no provider)',
                'nova-compute has not created this provider: check that '
                'it runs with the generated configuration'))
            continue
        inventories, _ = client.inventories(rp['uuid'])
        actual = {rc: inv['total'] for rc, inv in inventories.items()}
        found = compare(name, exp, actual)
        drift.extend(found)
        checked.append({
            'provider': name, 'uuid': rp['uuid'],
            'expected': ({exp.resource_class: exp.total} if exp else {}),
            'actual': actual, 'ok': not found})
    return VerifyResult(hostname=hostname, checked=checked, drift=drift,
                        requests=client.requests - before)


def wait_until_ok(conf: cfg.ConfigOpts, config: type_plan.NovaConfig,
                  client: api_client.PlacementClient, timeout: float,
                  interval: float,
                  sleep: typing.Callable[[float], None] = time.sleep,
                  clock: typing.Callable[[], float] = time.monotonic,
                  stop_early: typing.Callable[[], bool] | None = None
                  ) -> VerifyResult:
    """Verify every ``interval`` seconds until Placement matches ``config``.

    :param timeout: seconds after which the last result is returned.
    :param stop_early: asked after each result that is not ok; True ends
        the wait with that result.
    :returns: the last result: ok, or not when the time is up or
        ``stop_early`` ended the wait.
    :raises: what :func:`verify` raises.
    """
    start = clock()

    def again(result: VerifyResult) -> bool:
        return not result.ok and not (stop_early and stop_early())

    def last(retry_state: tenacity.RetryCallState) -> VerifyResult:
        assert retry_state.outcome is not None  # called after a try
        result: VerifyResult = retry_state.outcome.result()
        return result

    retrying = tenacity.Retrying(
        retry=tenacity.retry_if_result(again),
        stop=lambda retry_state: clock() - start >= timeout,
        wait=tenacity.wait_fixed(interval), sleep=sleep,
        retry_error_callback=last)
    return retrying(verify, conf, config, client)
