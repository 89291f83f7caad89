// Apps for tests (docs/apps.md): a WS_CONFIG file with two apps and their credentials.
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { GatewayProcess } from './gateway.js';

export const BLUE_LOGIN = 'blue-backend';
export const BLUE_PASSWORD = 'blue-password-0123';
const GREEN_LOGIN = 'green-backend';
const GREEN_PASSWORD = 'green-password-0123';
const basic = (login: string, password: string): string => `Basic ${Buffer.from(`${login}:${password}`).toString('base64')}`;
export const BLUE = basic(BLUE_LOGIN, BLUE_PASSWORD);
export const GREEN = basic(GREEN_LOGIN, GREEN_PASSWORD);

export async function yamlFile(text: string): Promise<string> {
  const file = join(await mkdtemp(join(tmpdir(), 'octoway-apps-')), 'octoway.yaml');
  await writeFile(file, text);
  return file;
}

/** blue: forward auth (to `authUrl`) with its own Basic credentials; green: JWT only, its own credentials. */
export function appsYaml(authUrl: string, greenSecret: string): string {
  return [
    'apps:',
    '  blue:',
    `    auth_url: ${authUrl}`,
    `    login: ${BLUE_LOGIN}`,
    `    password: ${BLUE_PASSWORD}`,
    '  green:',
    '    auth_mode: jwt',
    `    jwt_secret: ${greenSecret}`,
    `    login: ${GREEN_LOGIN}`,
    `    password: ${GREEN_PASSWORD}`,
    '    allowed_origins: [https://green.example]',
    '',
  ].join('\n');
}

export async function publishTo(gw: GatewayProcess, base: string, authorization: string, body: unknown): Promise<{ status: number; json: any }> {
  const r = await gw.request('POST', `${base}/`, { body: JSON.stringify(body), headers: { authorization, 'content-type': 'application/json' } });
  return { status: r.status, json: r.json };
}

