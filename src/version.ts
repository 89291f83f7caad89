// What `GET /version` answers: {version, commit, node}. The commit comes from OCTOWAY_COMMIT (set at
// image build: `docker build --build-arg COMMIT=$(git rev-parse --short HEAD)`), else from git when
// the gateway runs from a checkout, else "unknown". Read once at start, never per request.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export interface VersionInfo {
  readonly version: string;
  readonly commit: string;
  readonly node: string;
}

/** dist/src/version.js -> the package root. */
const ROOT = fileURLToPath(new URL('../../', import.meta.url));

export function versionInfo(env: Readonly<Record<string, string | undefined>>): VersionInfo {
  const { version } = JSON.parse(readFileSync(`${ROOT}package.json`, 'utf8')) as { version: string };
  return { version, commit: env.OCTOWAY_COMMIT?.trim() || gitCommit() || 'unknown', node: process.version };
}

function gitCommit(): string | undefined {
  try {
    return execFileSync('git', ['rev-parse', '--short=12', 'HEAD'], { cwd: ROOT, stdio: ['ignore', 'pipe', 'ignore'], timeout: 2_000 }).toString().trim() || undefined;
  } catch {
    return undefined; // no git, or not a checkout (the image): "unknown" says so
  }
}
