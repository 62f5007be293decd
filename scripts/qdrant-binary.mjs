#!/usr/bin/env node
// Finds the pinned Qdrant server the tests and the memory bench run against, unpacks it into .tools/
// when it comes as an .xz archive, checks its sha256, and prints its absolute path on stdout (nothing
// when there is none). Plain Node with no dependencies, like bootstrap.mjs: jest.config.js and .ci/run
// call it before anything is compiled.
//
//   node scripts/qdrant-binary.mjs
//
// Where it looks, first match wins:
//   1. QDRANT_BIN: the server binary, or its .xz archive;
//   2. .tools/qdrant, unpacked by an earlier run;
//   3. ../shared/tools/qdrant/qdrant-<version>-linux-x86_64.xz beside the clone (read-only there).
// A binary whose sha256 is not the pinned one stops with a message: point QDRANT_URL at your own Qdrant
// instead.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** Qdrant 1.18.3 for linux x86-64 (glibc), built from its public source: the unpacked binary's sha256. */
export const QDRANT_VERSION = '1.18.3';
export const QDRANT_SHA256 = 'dacf1e215aa23a5569a9fa6b2bd525f59b81e22cc701a3be30a5408607cf802f';

const say = (msg) => process.stderr.write(`[qdrant] ${msg}\n`);
const unpacked = path.join(root, '.tools', 'qdrant');
const shared = path.join(root, '..', 'shared', 'tools', 'qdrant', `qdrant-${QDRANT_VERSION}-linux-x86_64.xz`);

function sha256(file) {
  return createHash('sha256').update(fs.readFileSync(file)).digest('hex');
}

function fail(msg) {
  say(`ERROR: ${msg}`);
  process.exit(1);
}

/** Unpacks an .xz archive into .tools/qdrant (through a temporary file, so a torn unpack is never used). */
function unpack(archive) {
  fs.mkdirSync(path.dirname(unpacked), { recursive: true });
  const tmp = `${unpacked}.${process.pid}.tmp`;
  const out = fs.openSync(tmp, 'w', 0o755);
  const res = spawnSync('xz', ['-dc', archive], { stdio: ['ignore', out, 'pipe'], encoding: 'utf8' });
  fs.closeSync(out);
  if (res.error || res.status !== 0) {
    fs.rmSync(tmp, { force: true });
    fail(`could not unpack ${archive} with xz (${res.error?.message ?? res.stderr.trim()}); install xz-utils.`);
  }
  const got = sha256(tmp);
  if (got !== QDRANT_SHA256) {
    fs.rmSync(tmp, { force: true });
    fail(`${archive} unpacks to sha256 ${got}, not the pinned Qdrant ${QDRANT_VERSION} (${QDRANT_SHA256}).`);
  }
  fs.renameSync(tmp, unpacked);
  say(`unpacked Qdrant ${QDRANT_VERSION} into ${path.relative(root, unpacked)} (sha256 checked)`);
  return unpacked;
}

function checked(binary, origin) {
  const got = sha256(binary);
  if (got !== QDRANT_SHA256) {
    fail(
      `${origin} ${binary} has sha256 ${got}, not the pinned Qdrant ${QDRANT_VERSION} (${QDRANT_SHA256}). ` +
        'Unset it to use the pinned one, or run your own Qdrant and set QDRANT_URL.',
    );
  }
  return binary;
}

function find() {
  const given = process.env.QDRANT_BIN;
  if (given) {
    const file = path.resolve(given);
    if (!fs.existsSync(file)) fail(`QDRANT_BIN=${given} does not exist.`);
    return file.endsWith('.xz') ? unpack(file) : checked(file, 'QDRANT_BIN');
  }
  if (fs.existsSync(unpacked)) {
    // A stale or foreign copy is replaced from the archive when there is one.
    if (sha256(unpacked) === QDRANT_SHA256) return unpacked;
    if (fs.existsSync(shared)) return unpack(shared);
    return checked(unpacked, 'the unpacked');
  }
  if (fs.existsSync(shared)) return unpack(shared);
  return undefined;
}

const binary = find();
if (binary) process.stdout.write(`${binary}\n`);
