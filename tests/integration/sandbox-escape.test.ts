import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { artifactStore } from '../../activities/artifacts';
import { runInSandbox, runTests } from '../../activities/sandbox';
import { executeSandboxed } from '../../activities/sandbox/run-in-sandbox';
import { projectRoot } from '../../common/config';

/**
 * The escape and abuse suite: generated code that tries to get out of, or take down, the sandbox.
 * Each case runs for real under bubblewrap and asserts both containment and a clear report.
 */

const text = (ref: { id: string }): Promise<string> => artifactStore().getText(ref.id);

function processesOf(uid: number): number[] {
  return fs
    .readdirSync('/proc')
    .filter((entry) => /^\d+$/.test(entry))
    .filter((pid) => {
      try {
        const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
        return new RegExp(`^Uid:\\s+${uid}\\s`, 'm').test(status);
      } catch {
        return false;
      }
    })
    .map(Number);
}

// A temp dir of this file's own: sandbox runs of other test files (or other runs) never show up as leftovers here.
const ownTmp = fs.mkdtempSync(path.join(os.tmpdir(), 'sophia-escape-'));
process.env.TMPDIR = ownTmp;
afterAll(() => fs.rmSync(ownTmp, { recursive: true, force: true }));

function stagingDirs(): string[] {
  return fs.readdirSync(os.tmpdir()).filter((d) => d.startsWith('sophia-sbx-'));
}

describe('the bwrap sandbox contains generated code that', () => {
  const secret = 'sk-escape-suite-secret-0123456789';
  const saved = { OPENAI_API_KEY: process.env.OPENAI_API_KEY, CODACY_API_TOKEN: process.env.CODACY_API_TOKEN };

  beforeAll(() => {
    process.env.OPENAI_API_KEY = secret;
    process.env.CODACY_API_TOKEN = secret;
  });

  afterAll(() => {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  });

  it('opens a network connection, and reports that there is no network', async () => {
    const [host, port] = (process.env.TEMPORAL_ADDRESS ?? '127.0.0.1:7233').split(':');
    const code = [
      'import socket',
      `for target in [("${host}", ${port}), ("1.1.1.1", 53), ("example.com", 80)]:`,
      '    try:',
      '        socket.create_connection(target, timeout=2).close()',
      '        print("CONNECTED", target)',
      '    except OSError as e:',
      '        print("blocked", target, e)',
    ].join('\n');
    const result = await runInSandbox({ files: { 'net.py': code }, command: ['python', 'net.py'], language: 'python' });
    const out = await text(result.stdout);
    // The host's Temporal server listens on 127.0.0.1, yet inside the sandbox that is another loopback.
    expect(out).not.toContain('CONNECTED');
    expect(out.match(/blocked/g)).toHaveLength(3);
    expect(result.driver).toBe('bwrap');
    expect(result.violations).toContain('network');
  });

  it('writes outside its workspace, and nothing lands on the host', async () => {
    const marker = `escape-${process.pid}-${Date.now()}`;
    const targets = [
      path.join(projectRoot, marker),
      path.join(os.tmpdir(), marker),
      `/etc/${marker}`,
      `/usr/${marker}`,
      `/root/${marker}`,
      `/${marker}`,
    ];
    const code = [
      'import sys',
      `for target in ${JSON.stringify(targets)}:`,
      '    try:',
      '        open(target, "w").write("pwned")',
      '        print("WROTE", target)',
      '    except OSError as e:',
      '        print("denied", target, e)',
      'open("inside.txt", "w").write("fine")',
      'print("workspace ok")',
    ].join('\n');
    const result = await runInSandbox({
      files: { 'write.py': code },
      command: ['python', 'write.py'],
      language: 'python',
    });
    const out = await text(result.stdout);
    expect(out).toContain('workspace ok');
    for (const target of targets) expect(fs.existsSync(target)).toBe(false);
    // The sandbox's own /tmp is a private tmpfs: writing there is allowed but never reaches the host.
    expect(out).not.toMatch(/WROTE \/(etc|usr|root|work)/);
    expect(result.violations).toContain('filesystem');
  });

  it("reads the host's environment, home and secrets, and finds none of them", async () => {
    const code = [
      'import os, glob',
      'print(dict(os.environ))',
      'for p in ["/proc/1/environ", "/proc/self/environ", "/root/.bashrc", "/etc/shadow", "/etc/passwd", os.path.expanduser("~/.ssh/id_rsa")]:',
      '    try:',
      '        print(p, open(p, "rb").read()[:2000])',
      '    except OSError as e:',
      '        print("unreadable", p, e)',
      'print("listing", sorted(os.listdir("/")), glob.glob("/work/main/*"), glob.glob("/root/*"))',
      'print("procs", [p for p in os.listdir("/proc") if p.isdigit()])',
    ].join('\n');
    const result = await runInSandbox({
      files: { 'peek.py': code },
      command: ['python', 'peek.py'],
      language: 'python',
    });
    const out = await text(result.stdout);
    expect(result.exitCode).toBe(0);
    expect(out).not.toContain(secret);
    expect(out).not.toContain('OPENAI_API_KEY');
    expect(out).not.toContain('TEMPORAL_ADDRESS');
    expect(out).toMatch(/unreadable \/etc\/shadow/);
    expect(out).toMatch(/unreadable \/root\/\.bashrc/);
    // A pid namespace: only the sandbox's own few processes are visible.
    const procs = /procs \[([^\]]*)\]/.exec(out)?.[1]?.split(',') ?? [];
    expect(procs.length).toBeLessThanOrEqual(4);
  });

  it('fork-bombs, and the process limit holds while the machine stays healthy', async () => {
    const code = [
      'import os, time',
      'told = False',
      'while True:',
      '    try:',
      '        os.fork()',
      '    except OSError as e:',
      '        if not told:',
      '            print("fork refused:", e, flush=True)',
      '            told = True',
      '        time.sleep(0.01)',
    ].join('\n');
    const run = await executeSandboxed({
      files: { 'bomb.py': code },
      command: ['python', 'bomb.py'],
      language: 'python',
      timeoutMs: 3_000,
    });
    expect(run.sandboxUid).toBeDefined();
    expect(run.timedOut).toBe(true);
    expect(run.violations).toEqual(expect.arrayContaining(['timeout', 'processes']));
    // Nothing of the bomb survives the kill: the pid namespace died with its init.
    let left = processesOf(run.sandboxUid ?? -1);
    for (let i = 0; i < 20 && left.length > 0; i++) {
      await new Promise((r) => setTimeout(r, 100));
      left = processesOf(run.sandboxUid ?? -1);
    }
    expect(left).toEqual([]);
    // And the next run starts normally.
    const after = await runInSandbox({
      files: { 'ok.py': 'print("alive")' },
      command: ['python', 'ok.py'],
      language: 'python',
    });
    expect(await text(after.stdout)).toContain('alive');
  });

  it('loops forever, and is killed at the timeout', async () => {
    const result = await runInSandbox({
      files: { 'spin.py': 'while True:\n    pass\n' },
      command: ['python', 'spin.py'],
      language: 'python',
      timeoutMs: 1_500,
    });
    expect(result.timedOut).toBe(true);
    expect(result.violations).toContain('timeout');
    expect(result.durationMs).toBeLessThan(5_000);
    expect(result.summary).toMatch(/wall-clock timeout/);
  });

  it('prints gigabytes, and is cut at the output limit', async () => {
    const code = 'import sys\nchunk = "x" * 65536\nwhile True:\n    sys.stdout.write(chunk)\n';
    const started = Date.now();
    const result = await runInSandbox({
      files: { 'flood.py': code },
      command: ['python', 'flood.py'],
      language: 'python',
    });
    expect(result.outputTruncated).toBe(true);
    expect(result.violations).toContain('output-limit');
    expect(result.timedOut).toBe(false);
    expect(result.stdout.bytes).toBe(1024 * 1024);
    expect(Date.now() - started).toBeLessThan(10_000);
  });

  it('sleeps past the timeout inside a test, and the test run reports the timeout', async () => {
    const files = await artifactStore().putFiles({
      'test_sleep.py': 'import time\n\ndef test_waits():\n    time.sleep(60)\n',
    });
    const before = stagingDirs();
    const result = await runTests({ files, language: 'python', timeoutMs: 1_500 });
    expect(result.timedOut).toBe(true);
    expect(result.violations).toContain('timeout');
    expect(result.report.errors).toBe(1);
    expect(result.report.failures[0]?.message).toMatch(/wall-clock timeout/);
    expect(result.summary).toMatch(/0 passed, 1 errors.*timeout/);
    // No leftover state: the run's staging directory is gone.
    expect(stagingDirs().filter((d) => !before.includes(d))).toEqual([]);
  });

  it('allocates more memory than allowed, and gets MemoryError instead of the machine swapping', async () => {
    const code =
      'try:\n    b = bytearray(4 * 1024 * 1024 * 1024)\n    print("ALLOCATED")\nexcept MemoryError:\n    print("MemoryError")\n    raise\n';
    const result = await runInSandbox({ files: { 'big.py': code }, command: ['python', 'big.py'], language: 'python' });
    expect(await text(result.stdout)).not.toContain('ALLOCATED');
    expect(result.violations).toContain('memory');
  });

  it('writes a file larger than allowed, and the write is stopped at the file-size limit', async () => {
    const code =
      'chunk = b"x" * (1024 * 1024)\nwith open("huge.bin", "wb") as f:\n    for _ in range(100):\n        f.write(chunk)\nprint("WROTE ALL")\n';
    const result = await runInSandbox({
      files: { 'fill.py': code },
      command: ['python', 'fill.py'],
      language: 'python',
    });
    expect(await text(result.stdout)).not.toContain('WROTE ALL');
    expect(result.violations).toContain('file-size');
  });
});
