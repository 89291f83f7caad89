// Parsing of the two value kinds operators type by hand: durations (Go syntax, plus days) and sizes.

const DURATION_UNITS_MS: Readonly<Record<string, number>> = {
  ns: 1e-6, us: 1e-3, 'µs': 1e-3, 'μs': 1e-3, ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000,
};
const DURATION_PART = /(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h|d)/y;

/** Parses Go's duration syntax (`300ms`, `1.5h`, `1h30m`) plus `d` for days into milliseconds.
 * A bare number is refused, except `0`, because "30" is ambiguous (Goctopus users mean seconds,
 * some tools mean milliseconds). Negative durations are refused: nothing here can use one.
 * Returns undefined when the text is not a duration. */
export function parseDuration(text: string): number | undefined {
  const s = text.trim();
  if (s === '0') return 0;
  if (s === '') return undefined;
  let total = 0;
  DURATION_PART.lastIndex = 0;
  while (DURATION_PART.lastIndex < s.length) {
    const match = DURATION_PART.exec(s);
    if (match === null) return undefined;
    total += Number(match[1]) * DURATION_UNITS_MS[match[2] as string]!;
  }
  return Number.isFinite(total) ? total : undefined;
}

const SIZE_UNITS: Readonly<Record<string, number>> = {
  '': 1, b: 1,
  kb: 1_000, mb: 1_000_000, gb: 1_000_000_000,
  k: 1_024, kib: 1_024, m: 1_048_576, mib: 1_048_576, g: 1_073_741_824, gib: 1_073_741_824,
};

/** Parses a size in bytes: `1048576`, `64KiB`, `1MiB`, `10MB` (decimal units are powers of 1000,
 * binary ones and the bare `K`/`M`/`G` powers of 1024). Returns undefined when it is not one. */
export function parseSize(text: string): number | undefined {
  const match = /^(\d+(?:\.\d+)?)\s*([a-zA-Z]*)$/.exec(text.trim());
  if (match === null) return undefined;
  const unit = SIZE_UNITS[(match[2] as string).toLowerCase()];
  if (unit === undefined) return undefined;
  const bytes = Math.round(Number(match[1]) * unit);
  return Number.isSafeInteger(bytes) ? bytes : undefined;
}

/** A duration in Go's syntax, largest units first (`30m`, `1h30m`, `1.5s`, `300ms`, `0s`): how the
 * history shows a message's `expire`, which Octoway keeps as milliseconds. */
export function formatDuration(ms: number): string {
  if (ms <= 0) return '0s';
  if (ms < 1_000) return `${ms}ms`;
  const h = Math.floor(ms / 3_600_000);
  const m = Math.floor((ms % 3_600_000) / 60_000);
  const s = (ms % 60_000) / 1_000;
  return `${h > 0 ? `${h}h` : ''}${m > 0 ? `${m}m` : ''}${s > 0 ? `${s}s` : ''}`;
}
