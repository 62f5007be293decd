/**
 * Sandbox bench: what bubblewrap and the hardening around it (seccomp filter, per-run cgroup,
 * private staging, the report relay) cost over a plain spawn of the same command, measured in one
 * run (interleaved, so machine noise hits both sides alike), what the per-run cgroup alone costs, and
 * how long a small pytest file takes.
 *
 *   npx tsx bench/sandbox.ts [iterations]
 *
 * Targets: start overhead p95 ≤ 50 ms; p50 ≤ 25 ms (the unhardened sandbox's +10 ms, plus at most 15).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { artifactStore } from '../activities/artifacts';
import { runTests } from '../activities/sandbox';
import { createRunCgroup } from '../activities/sandbox/cgroup';
import { bwrapCage } from '../activities/sandbox/driver';
import { sandboxLimits } from '../activities/sandbox/limits';
import { executeSandboxed } from '../activities/sandbox/run-in-sandbox';
import { spawnCapped } from '../activities/sandbox/spawn-capped';
import { toolchains } from '../activities/sandbox/toolchains';

const iterations = Number(process.argv[2] ?? 40);
const TARGET_P95_MS = 50;
const TARGET_P50_MS = 25;

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? NaN;
}

const fmt = (ms: number) => `${ms.toFixed(1).padStart(7)} ms`;

async function time(fn: () => Promise<unknown>): Promise<number> {
  const started = performance.now();
  await fn();
  return performance.now() - started;
}

async function main(): Promise<void> {
  // Artifacts of the bench go to a throwaway directory (removed at the end), not the project's data dir.
  const scratch = process.env.SOPHIA_DATA_DIR
    ? undefined
    : fs.mkdtempSync(path.join(os.tmpdir(), 'sophia-bench-sandbox-'));
  if (scratch) process.env.SOPHIA_DATA_DIR = scratch;
  try {
    await measure();
  } finally {
    if (scratch) fs.rmSync(scratch, { recursive: true, force: true });
  }
}

async function measure(): Promise<void> {
  process.env.LOG_LEVEL ??= 'warn';
  const files = { 'hello.py': 'print("hi")\n' };
  // The real interpreter on both sides: a pyenv shim on PATH would add its own ~50 ms to the plain run.
  const python = (await toolchains()).python?.executable ?? 'python3';
  const plain = () =>
    spawnCapped({
      command: python,
      args: ['-c', 'pass'],
      env: { PATH: process.env.PATH ?? '' },
      timeoutMs: 10_000,
      outputLimitBytes: 1 << 20,
    });
  const sandboxed = () =>
    executeSandboxed({ files, command: ['python', '-c', 'pass'], language: 'python', timeoutMs: 10_000 });
  const plainTrue = () =>
    spawnCapped({
      command: 'true',
      args: [],
      env: { PATH: '/usr/bin:/bin' },
      timeoutMs: 10_000,
      outputLimitBytes: 1 << 20,
    });
  const sandboxedTrue = () => executeSandboxed({ files, command: ['true'], language: 'python', timeoutMs: 10_000 });

  // Warm-up: toolchain probe, bwrap probe, page cache.
  for (let i = 0; i < 3; i++) await Promise.all([sandboxed(), plain()]);

  const samples = {
    plain: [] as number[],
    sandbox: [] as number[],
    plainTrue: [] as number[],
    sandboxTrue: [] as number[],
  };
  for (let i = 0; i < iterations; i++) {
    samples.plainTrue.push(await time(plainTrue));
    samples.sandboxTrue.push(await time(sandboxedTrue));
    samples.plain.push(await time(plain));
    samples.sandbox.push(await time(sandboxed));
  }

  // What the per-run cgroup alone costs: create it, write its limits, remove it.
  const cgroupCycle: number[] = [];
  for (let i = 0; i < iterations; i++) {
    cgroupCycle.push(
      await time(async () => {
        await (await createRunCgroup(sandboxLimits()))?.remove();
      }),
    );
  }

  const row = (label: string, xs: number[]) =>
    console.log(`${label.padEnd(44)} p50 ${fmt(percentile(xs, 50))}   p95 ${fmt(percentile(xs, 95))}`);
  const cage = await bwrapCage();
  console.log(
    `sandbox start overhead (${iterations} interleaved runs each, ${os.cpus().length} CPUs, node ${process.version})`,
  );
  console.log(
    `cage: seccomp filter ${path.basename(cage.seccompFilter)}, per-run cgroup ${cage.cgroup.mode}${cage.cgroup.mode === 'none' ? ` (${cage.cgroup.detail})` : ''}`,
  );
  row('plain spawn: true', samples.plainTrue);
  row('sandbox (workspace + bwrap + limits): true', samples.sandboxTrue);
  row('plain spawn: python -c pass', samples.plain);
  row('sandbox: python -c pass', samples.sandbox);
  row('per-run cgroup: create, limit, remove', cgroupCycle);
  const overhead50 = percentile(samples.sandboxTrue, 50) - percentile(samples.plainTrue, 50);
  const overhead95 = percentile(samples.sandboxTrue, 95) - percentile(samples.plainTrue, 95);
  const true50 = percentile(samples.sandboxTrue, 50) / percentile(samples.plainTrue, 50);
  const true95 = percentile(samples.sandboxTrue, 95) / percentile(samples.plainTrue, 95);
  const py50 = percentile(samples.sandbox, 50) / percentile(samples.plain, 50);
  const py95 = percentile(samples.sandbox, 95) / percentile(samples.plain, 95);
  console.log(
    `overhead (true):   p50 +${overhead50.toFixed(1)} ms, p95 +${overhead95.toFixed(1)} ms  -> ${overhead50 <= TARGET_P50_MS ? 'within' : 'OVER'} the ${TARGET_P50_MS} ms p50 and ${overhead95 <= TARGET_P95_MS ? 'within' : 'OVER'} the ${TARGET_P95_MS} ms p95 target`,
  );
  console.log(`ratio (true):      p50 ${true50.toFixed(2)}x, p95 ${true95.toFixed(2)}x`);
  console.log(
    `overhead (python): p50 +${(percentile(samples.sandbox, 50) - percentile(samples.plain, 50)).toFixed(1)} ms, p95 +${(percentile(samples.sandbox, 95) - percentile(samples.plain, 95)).toFixed(1)} ms`,
  );
  console.log(`ratio (python):    p50 ${py50.toFixed(2)}x, p95 ${py95.toFixed(2)}x`);

  const testFiles = await artifactStore().putFiles({
    'calc.py': 'def add(a, b):\n    return a + b\n',
    'test_calc.py':
      'from calc import add\n\ndef test_add():\n    assert add(1, 2) == 3\n\ndef test_add_neg():\n    assert add(-1, 1) == 0\n',
  });
  const pytest: number[] = [];
  let summary = '';
  for (let i = 0; i < 5; i++) {
    pytest.push(
      await time(async () => {
        summary = (await runTests({ files: testFiles, language: 'python' })).summary;
      }),
    );
  }
  row(`runTests, small pytest file (${summary})`, pytest);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
