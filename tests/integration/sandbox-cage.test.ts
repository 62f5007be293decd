import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import request from 'supertest';
import { describeCage, publishCage } from '../../activities/sandbox/cage';
import { cgroupSupport, createRunCgroup } from '../../activities/sandbox/cgroup';
import { sandboxLimits } from '../../activities/sandbox/limits';
import { executeSandboxed } from '../../activities/sandbox/run-in-sandbox';
import { deniedSyscalls, seccompPaths } from '../../activities/sandbox/seccomp';
import type { CageReport } from '../../common/cage-report';
import { testApp } from '../support/api';

/**
 * The walls around every run, on this machine (root, cgroups delegable, as in CI): the seccomp policy,
 * the per-run cgroup with its limits, and what the worker says at start-up and /ready shows.
 */

const read = (file: string) => fs.readFileSync(file, 'utf8').trim();

describe('the sandbox cage', () => {
  it('compiles a policy that refuses every call the issue names', () => {
    const denied = deniedSyscalls(fs.readFileSync(seccompPaths().policy, 'utf8'));
    for (const call of [
      'unshare',
      'setns',
      'clone',
      'clone3',
      'mount',
      'umount2',
      'pivot_root',
      'ptrace',
      'process_vm_readv',
      'process_vm_writev',
      'keyctl',
      'add_key',
      'bpf',
      'perf_event_open',
      'userfaultfd',
      'kexec_load',
      'kexec_file_load',
      'init_module',
      'finit_module',
      'delete_module',
      'io_uring_setup',
      'io_uring_enter',
      'io_uring_register',
    ]) {
      expect(denied).toContain(call);
    }
  });

  it('gives each run a cgroup with its memory (no swap), process and CPU ceiling, and removes it after', async () => {
    const support = await cgroupSupport();
    expect(support.mode).not.toBe('none');
    const limits = { memoryBytes: 300 * 1024 * 1024, maxProcesses: 17, cpus: 0.5 };
    const cg = await createRunCgroup(limits);
    expect(cg).toBeDefined();
    const dirs = cg!.procsFiles.map((f) => path.dirname(f));
    const files = Object.fromEntries(dirs.flatMap((d) => fs.readdirSync(d).map((f) => [f, path.join(d, f)])));
    if (support.mode === 'v2') {
      expect(read(files['memory.max']!)).toBe(String(limits.memoryBytes));
      if (files['memory.swap.max']) expect(read(files['memory.swap.max'])).toBe('0');
      expect(read(files['pids.max']!)).toBe('17');
      expect(read(files['cpu.max']!)).toBe('50000 100000');
    } else {
      expect(read(files['memory.limit_in_bytes']!)).toBe(String(limits.memoryBytes));
      if (files['memory.memsw.limit_in_bytes']) {
        expect(read(files['memory.memsw.limit_in_bytes'])).toBe(String(limits.memoryBytes));
      }
      expect(read(files['pids.max']!)).toBe('17');
      expect(read(files['cpu.cfs_quota_us']!)).toBe('50000');
      expect(read(files['cpu.cfs_period_us']!)).toBe('100000');
    }
    await cg!.remove();
    for (const d of dirs) expect(fs.existsSync(d)).toBe(false);
  });

  it('runs the code inside its cgroup, and counts the forks its pids.max refused', async () => {
    const parents = (await createRunCgroup({ memoryBytes: 1 << 30, maxProcesses: 1, cpus: 1 }))!;
    const parentDirs = parents.procsFiles.map((f) => path.dirname(path.dirname(f)));
    await parents.remove();
    const before = parentDirs.map((d) => fs.readdirSync(d).filter((n) => n.startsWith('run-')).length);
    const code = [
      'import os',
      'kids = 0',
      'try:',
      '    for _ in range(2000):',
      '        if os.fork() == 0:',
      '            import time; time.sleep(5); os._exit(0)',
      '        kids += 1',
      'except OSError as e:',
      '    print("refused after", kids, e.errno)',
    ].join('\n');
    const run = await executeSandboxed({
      files: { 'forks.py': code },
      command: ['python', 'forks.py'],
      language: 'python',
      timeoutMs: 3_000,
    });
    expect(run.cgroup).not.toBe('none');
    expect(run.stdout.toString()).toMatch(/refused after \d+ 11/);
    expect(run.violations).toContain('processes');
    // Nothing left behind: every run cgroup is removed with its run.
    const after = parentDirs.map((d) => fs.readdirSync(d).filter((n) => n.startsWith('run-')).length);
    expect(after).toEqual(before);
  });

  it('says at start-up what holds: seccomp, a fresh uid, whole-run limits and the rlimits', async () => {
    const report = await describeCage();
    expect(report.driver).toBe('bwrap');
    expect(report.missing).toEqual([]);
    expect(report.wholeRunLimits).toBe(true);
    const limits = sandboxLimits();
    expect(report.holds).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^seccomp filter \(\d+ system calls refused\)$/),
        expect.stringMatching(/fresh unprivileged uid per run/),
        expect.stringMatching(
          new RegExp(
            `^whole-run limits in a v[12] cgroup: ${limits.memoryBytes >> 20} MB memory without swap, ${limits.maxProcesses} processes`,
          ),
        ),
        expect.stringMatching(/^per-process rlimits/),
      ]),
    );
  });

  it('shows in /ready what each sandbox worker reported, and degrades when only per-process limits hold', async () => {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'sophia-cage-'));
    // A remote model's check is config-only: name one, so the sandbox is the only check that can degrade.
    const { app, gateway } = testApp({ dataDir, OPENAI_BASE_URL: 'https://model.example/v1' });
    try {
      const none = await request(app).get('/ready').expect(200);
      expect(none.body.checks.sandbox).toMatchObject({ ok: true, detail: expect.stringMatching(/no sandbox worker/) });

      const full = await describeCage();
      publishCage({ ...full, host: 'worker-a' }, dataDir);
      const ready = await request(app).get('/ready').expect(200);
      expect(ready.body.status).toBe('ready');
      expect(ready.body.checks.sandbox.ok).toBe(true);
      expect(ready.body.checks.sandbox.detail).toMatch(/worker-a: bwrap; .*seccomp filter.*whole-run limits/);

      const degraded: CageReport = {
        ...full,
        host: 'worker-b',
        reportedAt: new Date(Date.now() + 1_000).toISOString(),
        wholeRunLimits: false,
        missing: ['no per-run cgroup (read-only /sys/fs/cgroup): ONLY PER-PROCESS LIMITS HOLD'],
      };
      publishCage(degraded, dataDir);
      const res = await request(app).get('/ready').expect(200);
      expect(res.body.status).toBe('degraded');
      expect(res.body.checks.sandbox).toMatchObject({
        ok: false,
        required: false,
        detail: expect.stringContaining('worker-b: bwrap; MISSING: no per-run cgroup'),
      });
    } finally {
      await gateway.close();
      fs.rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
