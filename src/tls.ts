// The uWS app: plain (App) or serving wss:// and https:// itself (SSLApp, with WS_TLS_CERT and
// WS_TLS_KEY). The one place that chooses. The files are checked with Node's TLS stack first, since
// uWS only says "App construction failed"; a bad file stops the start (exit 2) saying which and why.
import { readFileSync } from 'node:fs';
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { createSecureContext } from 'node:tls';
import uWS from 'uWebSockets.js';
import { OctowayError } from './errors.js';
import type { Logger } from './log.js';

export interface TlsFiles {
  readonly certFile: string;
  readonly keyFile: string;
}

/** The app for the configuration: App without TLS files, SSLApp with them once they check out. */
export function createApp(tls: TlsFiles | undefined, log: Logger): uWS.TemplatedApp {
  if (tls === undefined) return uWS.App();
  const certificate = checkTlsFiles(tls);
  const validTo = new Date(certificate.validTo);
  const fields = { certFile: tls.certFile, subject: certificate.subject, validTo: validTo.toISOString() };
  if (validTo.getTime() < Date.now()) log.warn(fields, 'the WS_TLS_CERT certificate has expired: clients will refuse it');
  else log.info(fields, 'TLS: serving wss:// and https://');
  try {
    return uWS.SSLApp({ cert_file_name: tls.certFile, key_file_name: tls.keyFile });
  } catch (err) {
    // Node read both files and they fit together, so this is a file uWS reads differently.
    throw invalid(`uWS cannot load WS_TLS_CERT=${tls.certFile} with WS_TLS_KEY=${tls.keyFile}`, err);
  }
}

/** Reads both files and checks that they are a PEM certificate (chain) and its unencrypted private
 * key; returns the (first) certificate. Every check says which variable and file are wrong. */
function checkTlsFiles({ certFile, keyFile }: TlsFiles): X509Certificate {
  const cert = readPem('WS_TLS_CERT', certFile);
  const key = readPem('WS_TLS_KEY', keyFile);
  let certificate: X509Certificate;
  try {
    certificate = new X509Certificate(cert);
  } catch (err) {
    throw invalid(`WS_TLS_CERT=${certFile}: not a PEM certificate`, err);
  }
  try {
    createPrivateKey(key);
  } catch (err) {
    throw invalid(`WS_TLS_KEY=${keyFile}: not an unencrypted PEM private key`, err);
  }
  try {
    createSecureContext({ cert, key });
  } catch (err) {
    throw invalid(`WS_TLS_KEY=${keyFile} is not the private key of the certificate in WS_TLS_CERT=${certFile}`, err);
  }
  return certificate;
}

function readPem(name: 'WS_TLS_CERT' | 'WS_TLS_KEY', file: string): Buffer {
  try {
    return readFileSync(file);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file'
      : code === 'EACCES' || code === 'EPERM' ? 'this user may not read it'
        : code === 'EISDIR' ? 'it is a directory'
          : `cannot be read (${code ?? (err as Error).message})`;
    throw invalid(`${name}=${file}: ${why}`, err);
  }
}

function invalid(message: string, cause: unknown): OctowayError {
  // The code is named in the text too: main prints only the message before exiting with 2.
  return new OctowayError('TLS_FILE_INVALID', `${message} (TLS_FILE_INVALID)`, { cause });
}
