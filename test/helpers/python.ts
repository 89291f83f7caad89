// Finds a python3 that can import what a test needs, and runs Python beside the gateway.
import { spawn, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { REPO } from './browser.js';

export const REPO_DIR = fileURLToPath(REPO);

/** Debian's python3 first: apt's python3-django and python3-flask land there, not in a pyenv or venv python. */
const CANDIDATES = ['/usr/bin/python3', 'python3'];

/** A python3 that imports every module in `modules`, or undefined. */
export function findPython(modules: string[] = []): string | undefined {
  const probe = modules.map((m) => `import ${m}`).join('; ') || 'pass';
  return CANDIDATES.find((python) => spawnSync(python, ['-c', probe], { stdio: 'ignore' }).status === 0);
}

export interface PythonRun { code: number | null; stdout: string; stderr: string }

/** Runs python with `args`, the SDK (clients/python) importable, and `env` added; resolves when it exits. */
export function runPython(python: string, args: string[], env: Record<string, string> = {}, timeoutMs = 30_000): Promise<PythonRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(python, args, {
      cwd: REPO_DIR,
      env: { ...process.env, PYTHONPATH: `${REPO_DIR}clients/python`, PYTHONDONTWRITEBYTECODE: '1', PYTHONUNBUFFERED: '1', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => { stdout += d.toString(); });
    child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
    const timer = setTimeout(() => { child.kill('SIGKILL'); reject(new Error(`python ${args.join(' ')} ran over ${timeoutMs} ms:\n${stdout}\n${stderr}`)); }, timeoutMs);
    child.on('error', (err) => { clearTimeout(timer); reject(err); });
    child.on('exit', (code) => { clearTimeout(timer); resolve({ code, stdout, stderr }); });
  });
}

export interface PythonServer { readonly output: () => string; stop(): Promise<void> }

/** Starts a Python server (a framework's dev server) and resolves once a line of its output
 * matches `ready`; rejects with its output if it exits first or is not ready in `timeoutMs`. */
export function startPythonServer(python: string, args: string[], env: Record<string, string>, ready: RegExp, timeoutMs = 20_000): Promise<PythonServer> {
  const child = spawn(python, args, {
    cwd: REPO_DIR,
    env: { ...process.env, PYTHONPATH: `${REPO_DIR}clients/python`, PYTHONDONTWRITEBYTECODE: '1', PYTHONUNBUFFERED: '1', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const server: PythonServer = {
    output: () => output,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => { void server.stop(); reject(new Error(`${args.join(' ')} not ready in ${timeoutMs} ms:\n${output}`)); }, timeoutMs);
    const watch = (d: Buffer) => {
      output += d.toString();
      if (ready.test(output)) { clearTimeout(timer); resolve(server); }
    };
    child.stdout.on('data', watch);
    child.stderr.on('data', watch);
    void exited.then(() => { clearTimeout(timer); reject(new Error(`${args.join(' ')} exited before it was ready:\n${output}`)); });
  });
}
