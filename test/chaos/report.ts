/**
 * The block each chaos scenario prints: one summary line (what was
 * injected, how the orders ended, deliveries, duplicates, losses,
 * invariants), then details.
 */
import type { InvariantReport } from '../../lib/invariants.js';
import type { ChaosStack, ClientStats, Outcome } from './harness.js';

export function invariantSummary(report: InvariantReport): string {
  const broken = new Set(report.violations.map((v) => v.invariant));
  if (broken.size === 0) return 'ok (6/6)';
  return `VIOLATED (${6 - broken.size}/6 hold; broken: ${[...broken].sort().join(', ')})`;
}

export interface ScenarioReport {
  injected: string;
  outcome: Outcome;
  deliveries: number;
  duplicatesAbsorbed: number;
  lost: number;
  invariants: InvariantReport;
  /** Further lines: what the fault did, what the client saw. */
  details?: string[];
}

/** The report's counts for a chaos stack in this process, from its verdict. */
export function verdictFacts(
  chaos: ChaosStack,
  verdict: { outcome: Outcome; lost: number; invariants: InvariantReport },
): Omit<ScenarioReport, 'injected' | 'details'> {
  return { outcome: verdict.outcome, deliveries: chaos.tally.attempts, duplicatesAbsorbed: chaos.duplicatesAbsorbed(), lost: verdict.lost, invariants: verdict.invariants };
}

/** Prints the scenario's block: one summary line, then details. */
export function printReport(scenario: string, r: ScenarioReport): void {
  const reasons = ['sold_out', 'insufficient_funds', 'unknown_slot']
    .filter((reason) => reason !== 'unknown_slot' || (r.outcome.reasons[reason] ?? 0) > 0)
    .map((reason) => `${reason} ${r.outcome.reasons[reason] ?? 0}`)
    .join(', ');
  const lines = [
    `[chaos] ${scenario}: injected ${r.injected}; orders=${r.outcome.orders} confirmed=${r.outcome.confirmed} cancelled=${r.outcome.cancelled} (${reasons}); ` +
      `deliveries=${r.deliveries} duplicates absorbed=${r.duplicatesAbsorbed}; lost=${r.lost}; invariants: ${invariantSummary(r.invariants)}`,
    ...(r.details ?? []).map((d) => `[chaos]   ${d}`),
    ...r.invariants.violations.slice(0, 10).map((v) => `[chaos]   violation of invariant ${v.invariant}: ${v.detail}`),
  ];
  console.log(lines.join('\n'));
}

export function clientSummary(stats: ClientStats): string {
  return `client: requests=${stats.requests} retried 5xx=${stats.retried5xx} 409=${stats.retried409} no-answer=${stats.retriedNetwork}; replays=${stats.replays}`;
}

export function brokerSummary(stats: Record<string, number>): string {
  return `broker: accepted=${stats.accepted} delivered=${stats.delivered} replied=${stats.replied} retried=${stats.retried} dead-lettered=${stats.deadLettered} failed=${stats.failed}`;
}
