// CPU time and RSS of any process of ours, read from /proc (the server's own view is not trusted or needed).
import { readdirSync, readFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';

const CLK_TCK = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100;
  } catch {
    return 100;
  }
})();

/** utime + stime of all the process's threads, in µs (resolution 1/CLK_TCK s, 10 ms here: windows are seconds long). */
export function cpuUs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
  // The command name may contain spaces: fields are counted after its closing parenthesis.
  const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const utime = Number(rest[11]);
  const stime = Number(rest[12]);
  return ((utime + stime) * 1e6) / CLK_TCK;
}

/**
 * Time on a CPU of all the process's threads, in µs, from the scheduler (/proc/<pid>/task/<tid>/schedstat, ns):
 * for processes too lightly loaded for 10 ms ticks, such as Redis in a fanout run.
 */
export function runTimeUs(pid: number): number {
  let ns = 0;
  for (const tid of readdirSync(`/proc/${pid}/task`)) ns += Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'latin1').split(' ')[0]);
  return ns / 1000;
}

/** Resident set size in bytes. */
export function rssBytes(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'latin1');
  const m = /VmRSS:\s+(\d+) kB/.exec(status);
  if (m === null) throw new Error(`no VmRSS for pid ${pid}`);
  return Number(m[1]) * 1024;
}

export function alive(pid: number): boolean {
  try {
    readFileSync(`/proc/${pid}/stat`);
    return true;
  } catch {
    return false;
  }
}

/**
 * Non-idle time of one core (user, nice, system, irq, softirq, steal) in µs. Loopback receive work runs in
 * softirq on the sending core and is not charged to the sending process, so a server's per-process CPU
 * misses part of what its sends cost; its pinned core's total shows it (along with anything else that ran there).
 */
export function coreBusyUs(core: number): number {
  const stat = readFileSync('/proc/stat', 'latin1');
  const m = new RegExp(`^cpu${core} (.*)$`, 'm').exec(stat);
  if (m === null) throw new Error(`no cpu${core} in /proc/stat`);
  const f = m[1]!.trim().split(/\s+/).map(Number);
  return ((f[0]! + f[1]! + f[2]! + f[5]! + f[6]! + f[7]!) * 1e6) / CLK_TCK;
}
