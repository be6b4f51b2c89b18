# SPDX-License-Identifier: Apache-2.0

"""``openstack mig rebalance plan``: new MIG geometries for the demand."""

import argparse
import os

from osc_lib import exceptions as osc_exc

from nova_mig.osc import common
from nova_mig.osc import window
from nova_mig.rebalance import defaults
from nova_mig.rebalance import planner


class PlanRebalance(common.Lister):
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
        window.add_window_option(parser)
        common.add_naming_options(parser)
        return parser

    @common.translate_errors
    def take_action(self, parsed_args: argparse.Namespace) -> common.Rows:
        seconds = window.window_seconds(parsed_args)
        if parsed_args.max_gpus is not None and parsed_args.max_gpus < 0:
            raise osc_exc.CommandError('--max-gpus: must be 0 or more')
        if parsed_args.max_per_gpu_day < 0:
            raise osc_exc.CommandError('--max-per-gpu-day: must be 0 or '
                                       'more')
        request = planner.Request(
            hosts_dir=parsed_args.hosts, window=seconds,
            scheme=common.scheme(parsed_args), targets=parsed_args.targets,
            history_dir=parsed_args.history,
            include_foreign=parsed_args.include_foreign,
            unmet=parsed_args.unmet, max_gpus=parsed_args.max_gpus,
            max_per_gpu_day=parsed_args.max_per_gpu_day,
            time_limit=parsed_args.time_limit,
            output_dir=parsed_args.output_dir,
            forecast=parsed_args.forecast)
        outcome = planner.plan_cloud(common.mig_client(self.app), request)
        self._summary(outcome, parsed_args.output_dir)
        columns = ('Profile', 'Scope', 'Wanted', 'Free Before',
                   'Free After', 'Covered Before', 'Covered After')
        return columns, [
            (r.profile, r.scope or 'cloud', r.wanted, r.free_before,
             r.free_after, r.covered_before, r.covered_after)
            for r in outcome.plan.rows]

    def _summary(self, outcome: planner.Outcome,
                 output_dir: str | None) -> None:
        result, seconds = outcome.plan, outcome.seconds
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
                planner.PLAN_FILE, os.path.abspath(output_dir)))
