// Run records, their medians, and the project's goals evaluated on them.
import { median } from './stats.js';
import type { Metrics, Target } from './scenarios/types.js';

export interface RunRecord {
  scenario: string;
  variant: string;
  target: Target;
  round: number;
  ok: boolean;
  error?: string;
  metrics: Metrics;
  startedAt: string;
  seconds: number;
  /** Runs of this slot, when it was repeated because of other load or a failure. */
  attempts?: number;
}

/** Share of a core taken by other processes above which a run is repeated (the machine is shared). */
export const FOREIGN_LIMIT = 0.15;

/** Median of a metric over the successful runs of (scenario, variant, target). */
export class Medians {
  constructor(private readonly runs: readonly RunRecord[]) {}

  get(scenario: string, variant: string, target: Target, metric: string): number | undefined {
    const xs = this.runs
      .filter((r) => r.ok && r.scenario === scenario && r.variant === variant && r.target === target)
      .map((r) => r.metrics[metric])
      .filter((x): x is number => typeof x === 'number');
    return xs.length === 0 ? undefined : median(xs);
  }

  /** The reference figure for a row: same variant if the reference has it, else its only (plain) variant. */
  ref(scenario: string, variant: string, target: Target, metric: string): number | undefined {
    return this.get(scenario, variant, target, metric) ?? this.get(scenario, '', target, metric);
  }

  ratio(scenario: string, variant: string, metric: string, over: Target = 'bare', of: Target = 'octoway'): number | undefined {
    const a = of === 'octoway' ? this.get(scenario, variant, of, metric) : this.ref(scenario, variant, of, metric);
    const b = this.ref(scenario, variant, over, metric);
    return a === undefined || b === undefined || b === 0 ? undefined : a / b;
  }
}

export interface GoalResult {
  goal: string;
  value: string;
  status: 'PASS' | 'MISS' | 'n/a';
}

interface Goal {
  goal: string;
  /** The compared figure (a ratio or an absolute), undefined when the runs needed are missing. */
  value(m: Medians): number | undefined;
  pass(v: number): boolean;
  show(v: number): string;
}

const x = (v: number): string => `${v.toFixed(2)}×`;
const ratioGoal = (goal: string, scenario: string, variant: string, metric: string, ok: (r: number) => boolean, over: Target = 'bare'): Goal => ({
  goal,
  value: (m) => m.ratio(scenario, variant, metric, over),
  pass: ok,
  show: x,
});
const absGoal = (goal: string, scenario: string, metric: string, ok: (v: number) => boolean, show: (v: number) => string, variant = ''): Goal => ({
  goal,
  value: (m) => m.get(scenario, variant, 'octoway', metric),
  pass: ok,
  show,
});

export const GOALS: readonly Goal[] = [
  ratioGoal('fanout deliveries/s ≥ 0.9× bare', 'fanout', '', 'deliveriesPerSec', (r) => r >= 0.9),
  ratioGoal('fanout p99 latency ≤ 1.2× bare', 'fanout', '', 'p99Ms', (r) => r <= 1.2),
  ratioGoal('fanout server CPU/delivery ≤ 1.1× bare', 'fanout', '', 'serverCpuUsPerDelivery', (r) => r <= 1.1),
  ratioGoal('unicast deliveries/s ≥ 0.8× bare', 'unicast', '', 'deliveriesPerSec', (r) => r >= 0.8),
  ratioGoal('unicast server CPU/POST ≤ 1.25× bare', 'unicast', '', 'serverCpuUsPerPost', (r) => r <= 1.25),
  {
    goal: 'batch deliveries/s ≥ 4× unicast deliveries/s',
    value: (m) => {
      const b = m.get('batch', '', 'octoway', 'deliveriesPerSec');
      const u = m.get('unicast', '', 'octoway', 'deliveriesPerSec');
      return b === undefined || u === undefined ? undefined : b / u;
    },
    pass: (r) => r >= 4,
    show: x,
  },
  ...['bearer', 'hmac'].map((mode): Goal => ({
    goal: `unicast with ${mode} publisher auth: server CPU/POST ≤ 1.1× basic`,
    value: (m) => {
      const other = m.get('unicast-auth', mode, 'octoway', 'serverCpuUsPerPost');
      const basic = m.get('unicast', '', 'octoway', 'serverCpuUsPerPost');
      return other === undefined || basic === undefined ? undefined : other / basic;
    },
    pass: (r) => r <= 1.1,
    show: x,
  })),
  absGoal('scale p99 latency ≤ 100 ms', 'scale', 'p99Ms', (v) => v <= 100, (v) => `${v.toFixed(1)} ms`),
  absGoal('scale RSS/socket ≤ 3 KB', 'scale', 'memPerSocketBytes', (v) => v <= 3000, (v) => `${(v / 1000).toFixed(2)} KB`),
  // A first connection (and every one in a reconnect storm) never finds its credentials cached: the
  // cache-off figures are the ones that count.
  ratioGoal('connect (auth cache off) upgrades/s ≥ 0.8× bare', 'connect', 'cache-off', 'upgradesPerSec', (r) => r >= 0.8),
  ratioGoal('connect (auth cache off) server CPU/upgrade ≤ 3× bare', 'connect', 'cache-off', 'serverCpuUsPerUpgrade', (r) => r <= 3),
  ratioGoal('connect (auth cache on) upgrades/s ≥ 0.8× bare', 'connect', 'cache-on', 'upgradesPerSec', (r) => r >= 0.8),
  ratioGoal('connect-ticket (memory) upgrades/s ≥ 0.8× bare', 'connect-ticket', 'memory', 'upgradesPerSec', (r) => r >= 0.8),
  ratioGoal('connect-ticket (memory) server CPU/upgrade ≤ 1.5× bare', 'connect-ticket', 'memory', 'serverCpuUsPerUpgrade', (r) => r <= 1.5),
  ratioGoal('connect-jwt (HS256) upgrades/s ≥ 0.8× bare', 'connect-jwt', 'hs256', 'upgradesPerSec', (r) => r >= 0.8),
  ratioGoal('connect-jwt (HS256) server CPU/upgrade ≤ 1.5× bare', 'connect-jwt', 'hs256', 'serverCpuUsPerUpgrade', (r) => r <= 1.5),
  absGoal('idle RSS/connection ≤ 3 KB (3 s after a 5,000-socket forward-auth burst, cache off)', 'idle-mem', 'memPerConnBytes', (v) => v <= 3000, (v) => `${(v / 1000).toFixed(2)} KB`),
  absGoal('idle RSS/connection, settled (15 s) ≤ 1.5 KB', 'idle-mem', 'settledMemPerConnBytes', (v) => v <= 1500, (v) => `${(v / 1000).toFixed(2)} KB`),
  // From the first connect, forward auth included: the 1,000 handshakes are most of it.
  absGoal('offline: 10,000 held for 1,000 keys delivered ≤ 0.3 s after the first connect', 'offline', 'deliverAllS', (v) => v <= 0.3, (v) => `${v.toFixed(3)} s`),
  absGoal('offline: each key\'s held messages ≤ 0.2 s after its 101 (max)', 'offline', 'afterOpenMaxS', (v) => v <= 0.2, (v) => `${v.toFixed(3)} s`),
  absGoal('reconnect-storm: all 18,000 back ≤ 10 s after the first drop', 'reconnect-storm', 'allBackS', (v) => v <= 10, (v) => `${v.toFixed(1)} s`),
  absGoal('reconnect-storm: auth calls in flight never above WS_WORKERS (128)', 'reconnect-storm', 'maxAuthInFlight', (v) => v <= 128, (v) => v.toFixed(0)),
  absGoal('reconnect-storm: no refusal but 503 + Retry-After', 'reconnect-storm', 'refusedOther', (v) => v === 0, (v) => v.toFixed(0)),
  absGoal('held-mem: 1,000,000 held ≤ 300 MB RSS', 'held-mem', 'rssMB', (v) => v <= 300, (v) => `${v.toFixed(0)} MB`),
  {
    goal: 'fanout-pattern deliveries/s ≥ 0.8× fanout (exact key)',
    value: (m) => {
      const pattern = m.get('fanout-pattern', '', 'octoway', 'deliveriesPerSec');
      const exact = m.get('fanout', '', 'octoway', 'deliveriesPerSec');
      return pattern === undefined || exact === undefined || exact === 0 ? undefined : pattern / exact;
    },
    pass: (r) => r >= 0.8,
    show: x,
  },
  {
    // Issue 14: a Philote user's fanout through the Philote listener, against the native listener's.
    goal: 'fanout-philote deliveries/s ≥ 0.9× fanout (native listener)',
    value: (m) => {
      const philote = m.get('fanout-philote', '', 'octoway', 'deliveriesPerSec');
      const native = m.get('fanout', '', 'octoway', 'deliveriesPerSec');
      return philote === undefined || native === undefined || native === 0 ? undefined : philote / native;
    },
    pass: (r) => r >= 0.9,
    show: x,
  },
  {
    // Issue 14: a dSock user's fanout through the dSock listener (HTTP /send to one user), against the native listener's.
    goal: 'fanout-dsock deliveries/s ≥ 0.9× fanout (native listener)',
    value: (m) => {
      const dsock = m.get('fanout-dsock', '', 'octoway', 'deliveriesPerSec');
      const native = m.get('fanout', '', 'octoway', 'deliveriesPerSec');
      return dsock === undefined || native === undefined || native === 0 ? undefined : dsock / native;
    },
    pass: (r) => r >= 0.9,
    show: x,
  },
  absGoal('fanout-philote deliveries/s ≥ 5× the real Philote (50k/s)', 'fanout-philote', 'deliveriesPerSec', (v) => v >= 250_000, (v) => `${(v / 1000).toFixed(0)}k/s = ${(v / 50_000).toFixed(1)}× Philote`),
  // Issue 13's speed goals. Topics stay on uWS's C++ publish path: against bare uWS doing the same work.
  ratioGoal('fanout-topic deliveries/s ≥ 0.9× bare', 'fanout-topic', '', 'deliveriesPerSec', (r) => r >= 0.9),
  ratioGoal('fanout-topic server CPU/delivery ≤ 1.1× bare', 'fanout-topic', '', 'serverCpuUsPerDelivery', (r) => r <= 1.1),
  {
    // A filtered message takes the per-socket JS path; bare uWS has no per-socket filtering, so the
    // floor is its plain fanout (one C++ publish): the 2× pays for the filter and the JS loop.
    goal: 'fanout-filter server CPU/delivered frame ≤ 2× bare fanout\'s server CPU/delivery',
    value: (m) => {
      const filtered = m.get('fanout-filter', 'filter', 'octoway', 'serverCpuUsPerDelivery');
      const bare = m.get('fanout', '', 'bare', 'serverCpuUsPerDelivery');
      return filtered === undefined || bare === undefined || bare === 0 ? undefined : filtered / bare;
    },
    pass: (r) => r <= 2,
    show: x,
  },
  {
    // The v2 frame is 29 bytes longer than the Goctopus one (~155): the 5 % is for those bytes.
    goal: 'fanout-v2 (v2 clients on a key) server CPU/delivery ≤ 1.05× fanout (Goctopus clients)',
    value: (m) => {
      const v2 = m.get('fanout-v2', '', 'octoway', 'serverCpuUsPerDelivery');
      const goctopus = m.get('fanout', '', 'octoway', 'serverCpuUsPerDelivery');
      return v2 === undefined || goctopus === undefined || goctopus === 0 ? undefined : v2 / goctopus;
    },
    pass: (r) => r <= 1.05,
    show: x,
  },
  ratioGoal('fanout deliveries/s ≥ 2× ws reference', 'fanout', '', 'deliveriesPerSec', (r) => r >= 2, 'ws'),
  ratioGoal('unicast deliveries/s ≥ 2× ws reference', 'unicast', '', 'deliveriesPerSec', (r) => r >= 2, 'ws'),
];

export function evaluateGoals(runs: readonly RunRecord[]): GoalResult[] {
  const m = new Medians(runs);
  return GOALS.map((g) => {
    const v = g.value(m);
    return v === undefined || !Number.isFinite(v)
      ? { goal: g.goal, value: '—', status: 'n/a' as const }
      : { goal: g.goal, value: g.show(v), status: g.pass(v) ? ('PASS' as const) : ('MISS' as const) };
  });
}
