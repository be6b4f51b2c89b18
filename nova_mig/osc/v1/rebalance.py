# SPDX-License-Identifier: Apache-2.0

"""``openstack mig rebalance plan``: new MIG geometries for the demand."""

import argparse
import os
import time
import typing

from osc_lib.command import command
from osc_lib import exceptions as osc_exc

from nova_mig.osc import common
from nova_mig.osc.v1 import capacity as capacity_cmd
from nova_mig.rebalance import capacity
from nova_mig.rebalance import defaults
from nova_mig.rebalance import demand
from nova_mig.rebalance import fleet
from nova_mig.rebalance import forecast
from nova_mig.rebalance import history
from nova_mig.rebalance import plan


class PlanRebalance(command.Lister):
    """Propose MIG geometries that cover the unmet demand; change nothing.

    Reads each compute host's "nova-mig discover -f json" document from
    --hosts (one *.json per host, gathered by playbooks/rebalance.yaml),
    joins it with Placement's usages, and counts the demand: boots that
    failed with NoValidHost over --window, per profile, and the minimum
    free slices of --targets. Hosts whose document is missing, older than
    --window or disagrees with Placement are left out, with the reason.

    GPU instances in use never move; the free slices around them, and
    whole free GPUs, may be re-partitioned. A GPU re-partitioned
    --max-per-gpu-day times today (UTC), as the --history directory
    records (the playbook keeps it), keeps its geometry; and a boot that
    failed before a re-partition of that history grew its profile is not
    counted again. With --history each run also records a demand sample
    there (GPU instances in use and failed boots per profile), and the
    plan wants per profile the larger of the counted boots and what a
    Holt-Winters forecast of those samples (daily pattern, last week's
    same hour) says the hours until the next allowed re-partition will
    need (--no-forecast: the counted boots only). A boot whose flavor
    requires a GPU model trait asks for slices on GPUs of that model
    only. The objective, solved exactly
    by HiGHS: cover the most demand (in compute slices), then touch the
    fewest GPUs, then use the fewest new geometries per GPU model.

    One row per demand (profile and scope): wanted, free and covered
    before and after. With --output-dir, one layout file per touched host
    (<host>.yaml, "nova-mig layout" format, applied on the host with
    "nova-mig rebalance apply") and plan.json are written there.
    """

    def get_parser(self, prog_name: str) -> argparse.ArgumentParser:
        parser = super().get_parser(prog_name)
        parser.add_argument(
            '--hosts', metavar='<dir>', required=True,
            help='Directory of the hosts\' discover documents (*.json)')
        parser.add_argument(
            '--targets', metavar='<file>',
            help='YAML file of minimum free slices per profile, '
                 'cloud-wide or per aggregate or availability zone')
        parser.add_argument(
            '--max-gpus', metavar='<n>', type=int,
            help='Touch at most this many GPUs')
        parser.add_argument(
            '--max-per-gpu-day', metavar='<n>', type=int,
            default=defaults.MAX_PER_GPU_DAY,
            help='Re-partition a GPU at most this many times per UTC '
                 'calendar day, counting the --history (default: '
                 '%(default)s)')
        parser.add_argument(
            '--history', metavar='<dir>',
            help='Directory of the re-partition history, one '
                 '<YYYY-MM-DD>.jsonl per day, kept by '
                 'playbooks/rebalance.yaml; without it only this plan '
                 'counts toward --max-per-gpu-day')
        parser.add_argument(
            '--no-forecast', dest='forecast', action='store_false',
            default=defaults.DEMAND == 'forecast',
            help='With --history, plan for the boots counted once only; '
                 'by default each run records a demand sample in the '
                 '--history directory (demand-<YYYY-MM-DD>.jsonl) and '
                 'the plan also wants what the forecast of those samples '
                 'says the hours until the next allowed re-partition '
                 'will need')
        parser.add_argument(
            '--include-foreign', action='store_true',
            help='Count a GPU instance kept only for an unused vGPU device '
                 'nova-mig did not create as free, as "nova-mig rebalance '
                 'apply --include-foreign" removes such devices (default: '
                 'it stays where it is, as apply refuses to remove it)')
        parser.add_argument(
            '--output-dir', metavar='<dir>',
            help='Write the layout files and plan.json here')
        parser.add_argument(
            '--time-limit', metavar='<seconds>', type=float,
            default=defaults.TIME_LIMIT,
            help='Seconds the solver may spend per pass (default: '
                 '%(default)s); the best plan found by then is used')
        capacity_cmd.add_window_option(parser)
        common.add_naming_options(parser)
        return parser

    @common.translate_errors
    def take_action(self, parsed_args: argparse.Namespace
                    ) -> tuple[tuple[str, ...], list[tuple]]:
        # Before anything is read: SciPy comes with the "rebalance" extra.
        plan.require_solver()
        seconds = capacity_cmd.window_seconds(parsed_args)
        if parsed_args.max_gpus is not None and parsed_args.max_gpus < 0:
            raise osc_exc.CommandError('--max-gpus: must be 0 or more')
        if parsed_args.max_per_gpu_day < 0:
            raise osc_exc.CommandError('--max-per-gpu-day: must be 0 or '
                                       'more')
        targets = (demand.load_targets(parsed_args.targets)
                   if parsed_args.targets else [])
        hosts, left = fleet.load_hosts(parsed_args.hosts, seconds)
        if parsed_args.include_foreign:
            fleet.release_foreign(hosts)
        if targets:
            demand.check_profiles(targets, plan.known_profiles(hosts),
                                  parsed_args.targets)
        mig = common.mig_client(self.app)
        scheme = common.scheme(parsed_args)
        rows = capacity.read_slices(
            mig.placement, scheme, workers=capacity_cmd.READ_WORKERS)
        hosts, disagreeing = fleet.join_placement(hosts, rows)
        left += disagreeing
        past = (history.load(parsed_args.history, window=seconds)
                if parsed_args.history else history.History())
        history.apply(hosts, past.today)
        if any(t.scope for t in targets):
            scopes = demand.host_scopes(mig.compute)
            for host in hosts:
                host.scopes = frozenset(
                    scopes.get(host.name) or
                    scopes.get(host.name.split('.')[0]) or ())
        for host in hosts:
            for gpu in host.gpus:
                gpu.scopes = frozenset({demand.trait_scope(
                    scheme.model_trait(gpu.model))})
        boots = capacity_cmd.unmet_boots(self.app, parsed_args, seconds,
                                         past.grown)
        wanted = demand.combine(boots.by_profile, targets, boots.by_scope)
        if parsed_args.history and parsed_args.forecast:
            gpus = [g for h in hosts for g in h.gpus]
            wanted = forecast.plan_demand(
                parsed_args.history, time.time(), boots, wanted,
                used=[s.profile for g in gpus for s in g.fixed],
                free=[s.profile for g in gpus for s in g.free],
                max_per_gpu_day=parsed_args.max_per_gpu_day)
        started = time.monotonic()
        result = plan.build(hosts, wanted, left_out=left,
                            max_gpus=parsed_args.max_gpus,
                            time_limit=parsed_args.time_limit,
                            max_per_gpu_day=parsed_args.max_per_gpu_day)
        if parsed_args.output_dir:
            plan.write_layouts(result, hosts, parsed_args.output_dir)
        self._summary(result, time.monotonic() - started,
                      parsed_args.output_dir)
        columns = ('Profile', 'Scope', 'Wanted', 'Free Before',
                   'Free After', 'Covered Before', 'Covered After')
        return columns, [
            (r.profile, r.scope or 'cloud', r.wanted, r.free_before,
             r.free_after, r.covered_before, r.covered_after)
            for r in result.rows]

    def _summary(self, result: plan.Plan, seconds: float,
                 output_dir: typing.Optional[str]) -> None:
        say = self.app.stderr.write
        for host in result.left_out:
            say('left out: %s: %s\n' % (host.host, host.reason))
        say('%d GPU(s) on %d host(s) to change, of %d GPU(s) on %d host(s) '
            'planned; planned in %.2f s%s\n' % (
                len(result.changes), len(result.hosts_touched),
                result.gpus_planned, result.hosts_planned, seconds,
                '' if result.optimal else ' (time limit: best plan found)'))
        say('budget: at most %d re-partition(s) per GPU per UTC day; '
            '%d GPU(s) reached it and stay as they are%s\n' % (
                result.max_per_gpu_day or 0, len(result.at_budget),
                ''.join('\n  at budget: %s' % g for g in result.at_budget)))
        if output_dir:
            say('layout files and %s in %s\n' % (
                plan.PLAN_FILE, os.path.abspath(output_dir)))
