// What a scenario is, as seen by the runner (metadata) and by the client process (run).
export type Target = 'octoway' | 'bare' | 'ws';
export const TARGETS: readonly Target[] = ['octoway', 'bare', 'ws'];

/** A server configuration a scenario runs under (e.g. auth cache off / on). */
export interface Variant {
  readonly name: string;
  readonly env: Readonly<Record<string, string>>;
  /**
   * Octoway nodes sharing the machine's Redis (WS_REDIS_URL, a fresh WS_REDIS_PREFIX per run), all pinned to the
   * server core. Absent: one node, in memory.
   */
  readonly redisNodes?: number;
  /** Port variables of seed listeners (WS_PHILOTE_PORT, ...) the runner sets to fresh ports (one
   * node only), told to the client as ClientConfig.listeners. */
  readonly listenerPorts?: readonly string[];
}

export interface MetricDef {
  readonly key: string;
  readonly label: string;
  readonly unit: string;
  readonly better: 'higher' | 'lower' | 'none';
}

/** Everything the client process is told about one run. */
export interface ClientConfig {
  scenario: string;
  variant: string;
  target: Target;
  host: string;
  port: number;
  serverPid: number;
  authPid: number;
  authPort: number;
  round: number;
  /** Every node of a multi-node run, the first being port/serverPid; absent for one server. */
  nodes?: readonly { port: number; pid: number }[];
  /** The seed listeners' ports, by variable (Variant.listenerPorts). */
  listeners?: Readonly<Record<string, number>>;
  /** Redis's pid when the run uses Redis and its /proc/<pid> is readable (for its CPU), else absent or 0. */
  redisPid?: number;
}

export interface Ctx extends ClientConfig {
  /** Publish path: `/` on Octoway, `/pub` on the references. */
  readonly pubPath: string;
  log(msg: string): void;
}

export type Metrics = Record<string, number>;

export interface Scenario {
  readonly name: string;
  /** One paragraph for docs/benchmarks.md: what exactly is measured. */
  readonly description: string;
  readonly targets: readonly Target[];
  variants(target: Target): Variant[];
  readonly metrics: readonly MetricDef[];
  /** Whether its figures are times or CPU (other load on the machine skews them) rather than memory only. */
  readonly cpuSensitive: boolean;
  /** Whole-run limit enforced by the client (and, with a margin, by the runner). */
  readonly timeoutMs: number;
  /**
   * For an Octoway-only scenario that re-runs another one's workload under other settings: its page table shows
   * its variants as columns beside that scenario's Octoway figure, with the last variant's ratio to it.
   */
  readonly beside?: string;
  run(ctx: Ctx): Promise<Metrics>;
}

export const PLAIN: Variant[] = [{ name: '', env: {} }];
