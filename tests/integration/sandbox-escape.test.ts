import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { artifactStore } from '../../activities/artifacts';
import { runInSandbox, runTests } from '../../activities/sandbox';
import { sandboxLimits } from '../../activities/sandbox/limits';
import { executeSandboxed } from '../../activities/sandbox/run-in-sandbox';
import { toolchains } from '../../activities/sandbox/toolchains';
import { stagingRoot } from '../../activities/sandbox/workspace';
import { projectRoot } from '../../common/config';

/**
 * The escape and abuse suite: generated code that tries to get out of, or take down, the sandbox.
 * Each case runs for real under bubblewrap and asserts that the attempt fails, and a clear report.
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

async function stagingDirs(): Promise<string[]> {
  return fs.readdirSync(await stagingRoot()).filter((d) => d.startsWith('sophia-sbx-'));
}

/** Runs a Python script in the sandbox and returns the run with its stdout. */
async function python(code: string, timeoutMs?: number) {
  const run = await executeSandboxed({
    files: { 'attempt.py': code },
    command: ['python', 'attempt.py'],
    language: 'python',
    timeoutMs,
  });
  return { run, out: run.stdout.toString('utf8'), err: run.stderr.toString('utf8') };
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
      'import json, os, glob',
      'print(dict(os.environ))',
      'for p in ["/proc/1/environ", "/proc/self/environ", "/root/.bashrc", "/etc/shadow", "/etc/passwd", os.path.expanduser("~/.ssh/id_rsa")]:',
      '    try:',
      '        print(p, open(p, "rb").read()[:2000])',
      '    except OSError as e:',
      '        print("unreadable", p, e)',
      `checkout = ${JSON.stringify(projectRoot)}`,
      'print("LISTING", json.dumps({"checkout": glob.glob(checkout + "/*") + glob.glob(checkout + "/.*"), "exists": os.path.exists(checkout), "root": glob.glob("/root/*") + glob.glob("/root/.*"), "home": glob.glob("/home/*")}))',
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
    // The project's own checkout (its .env, its data directory) is not there at all, nor any home.
    const listing = JSON.parse(/^LISTING (.*)$/m.exec(out)?.[1] ?? 'null') as {
      checkout: string[];
      exists: boolean;
      root: string[];
      home: string[];
    };
    expect(listing).toMatchObject({ checkout: [], exists: false, home: [] });
    // /root holds at most the empty directories leading to a toolchain bound below it, nothing of the home.
    const tc = await toolchains();
    const bound = [...(tc.python?.mounts ?? []), tc.node.executable];
    for (const entry of listing.root) expect(bound.some((m) => m.startsWith(`${entry}/`))).toBe(true);
  });

  it("reads the host's layout from /proc, and sees only its own processes, cgroup, network and binds", async () => {
    const code = [
      'import json, os, socket',
      'procs = {p: open(f"/proc/{p}/cmdline", "rb").read().split(b"\\0")[0].decode() for p in os.listdir("/proc") if p.isdigit()}',
      'VIRTUAL = {"tmpfs", "proc", "devtmpfs", "devpts", "mqueue", "sysfs", "cgroup", "cgroup2"}',
      'mounts = [l.split()[3] for l in open("/proc/self/mountinfo") if l.split(" - ")[1].split()[0] not in VIRTUAL]',
      'tcp = [l.split()[1] for l in open("/proc/net/tcp").readlines()[1:]] + [l.split()[1] for l in open("/proc/net/tcp6").readlines()[1:]]',
      'print("LAYOUT", json.dumps({"procs": procs, "cgroup": open("/proc/self/cgroup").read(), "tcp": tcp, "hostname": socket.gethostname(), "mounts": mounts}))',
    ].join('\n');
    const { run, out } = await python(code);
    expect(run.exitCode).toBe(0);
    const layout = JSON.parse(/^LAYOUT (.*)$/m.exec(out)?.[1] ?? 'null') as {
      procs: Record<string, string>;
      cgroup: string;
      tcp: string[];
      hostname: string;
      mounts: string[];
    };
    // A pid namespace: the sandbox's init, its shell, relay and the interpreter; no host process.
    const tc = await toolchains();
    for (const cmd of Object.values(layout.procs)) {
      expect(['bwrap', '/bin/sh', 'head', tc.python?.executable]).toContain(cmd);
    }
    expect(layout.procs['1']).toBe('bwrap');
    // A cgroup namespace: its own cgroup is the root, no host path.
    for (const line of layout.cgroup.trim().split('\n')) expect(line).toMatch(/:\/$/);
    // A network namespace: not one socket of the host (its Temporal server listens right now).
    expect(layout.tcp).toEqual([]);
    expect(layout.hostname).toBe('sandbox');
    // The only host paths it can name are the read-only binds it was given: the toolchains, the
    // loader's files and its own staging copy, never a parent of them.
    const allowed = [
      '/usr',
      '/etc/ld.so.cache',
      '/etc/ld.so.conf',
      '/etc/ld.so.conf.d',
      '/etc/alternatives',
      ...(tc.python?.mounts ?? []),
      tc.pipDir,
      ...['/bin', '/sbin', '/lib', '/lib32', '/lib64', '/libx32'].filter((d) => {
        try {
          return fs.lstatSync(d).isDirectory();
        } catch {
          return false;
        }
      }),
    ];
    const root = await stagingRoot();
    for (const source of layout.mounts) {
      if (source.startsWith(`${root}/sophia-sbx-`)) continue;
      expect(allowed).toContain(source);
    }
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
    const before = await stagingDirs();
    const result = await runTests({ files, language: 'python', timeoutMs: 1_500 });
    expect(result.timedOut).toBe(true);
    expect(result.violations).toContain('timeout');
    expect(result.report.errors).toBe(1);
    expect(result.report.failures[0]?.message).toMatch(/wall-clock timeout/);
    expect(result.summary).toMatch(/0 passed, 1 errors.*timeout/);
    // No leftover state: the run's staging directory is gone.
    expect((await stagingDirs()).filter((d) => !before.includes(d))).toEqual([]);
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

  it('creates a nested user namespace or runs `unshare -Ur`, and is refused', async () => {
    const code = [
      'import ctypes, subprocess',
      'libc = ctypes.CDLL(None, use_errno=True)',
      'CLONE_NEWUSER, CLONE_NEWNS = 0x10000000, 0x00020000',
      'print("unshare(NEWUSER)", libc.unshare(CLONE_NEWUSER), ctypes.get_errno())',
      'print("unshare(NEWNS)", libc.unshare(CLONE_NEWNS), ctypes.get_errno())',
      // clone(2) with CLONE_NEWUSER straight through syscall(2): x86_64 SYS_clone is 56, arm64 220.
      'import platform',
      'nr = {"x86_64": 56, "aarch64": 220}.get(platform.machine())',
      'if nr: print("clone(NEWUSER)", libc.syscall(nr, CLONE_NEWUSER | 17, 0, 0, 0, 0), ctypes.get_errno())',
      'r = subprocess.run(["unshare", "-Ur", "sh", "-c", "id -u; mount -t tmpfs -o size=12g none /tmp && echo MOUNTED"], capture_output=True, text=True)',
      'print("unshare -Ur", r.returncode, repr(r.stdout), r.stderr.strip())',
    ].join('\n');
    const { run, out } = await python(code);
    expect(run.exitCode).toBe(0);
    expect(out).toMatch(/^unshare\(NEWUSER\) -1 1$/m);
    expect(out).toMatch(/^unshare\(NEWNS\) -1 1$/m);
    if (/clone\(NEWUSER\)/.test(out)) expect(out).toMatch(/^clone\(NEWUSER\) -1 1$/m);
    expect(out).toMatch(/^unshare -Ur 1 '' unshare: unshare failed: Operation not permitted$/m);
    expect(out).not.toContain('MOUNTED');
  });

  it('mounts a tmpfs, by syscall and with mount(8), and is refused', async () => {
    const code = [
      'import ctypes, os, subprocess',
      'libc = ctypes.CDLL(None, use_errno=True)',
      'os.makedirs("/tmp/m", exist_ok=True)',
      'print("mount", libc.mount(b"none", b"/tmp/m", b"tmpfs", 0, b"size=12g"), ctypes.get_errno())',
      'r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=12g", "none", "/tmp/m"], capture_output=True, text=True)',
      'print("mount(8)", r.returncode)',
      'print("mounted" if os.path.ismount("/tmp/m") else "not mounted")',
    ].join('\n');
    const { out } = await python(code);
    expect(out).toMatch(/^mount -1 1$/m);
    expect(out).toMatch(/^mount\(8\) (?!0$)\d+$/m);
    expect(out).toContain('not mounted');
  });

  it('ptraces pid 1 and reads its memory, and is refused', async () => {
    const code = [
      'import ctypes, os',
      'libc = ctypes.CDLL(None, use_errno=True)',
      'PTRACE_ATTACH, PTRACE_SEIZE = 16, 0x4206',
      'print("attach", libc.ptrace(PTRACE_ATTACH, 1, 0, 0), ctypes.get_errno())',
      'print("seize", libc.ptrace(PTRACE_SEIZE, os.getppid(), 0, 0), ctypes.get_errno())',
      'try:',
      '    open("/proc/1/mem", "rb").read(1)',
      '    print("READ MEM")',
      'except OSError as e:',
      '    print("mem", e.errno)',
    ].join('\n');
    const { out } = await python(code);
    expect(out).toMatch(/^attach -1 1$/m);
    expect(out).toMatch(/^seize -1 1$/m);
    expect(out).not.toContain('READ MEM');
  });

  it('starts six processes of 700 MB at once, and the run as a whole hits its memory ceiling', async () => {
    const code = [
      'import os, time',
      'pids = []',
      'for i in range(6):',
      '    pid = os.fork()',
      '    if pid == 0:',
      '        try:',
      '            block = bytearray(700 * 1024 * 1024)',
      '            for j in range(0, len(block), 4096): block[j] = 1',
      '            print("allocated", i, flush=True)',
      '            time.sleep(3)',
      '        finally:',
      '            os._exit(0)',
      '    pids.append(pid)',
      'for pid in pids: os.waitpid(pid, 0)',
    ].join('\n');
    const { run, out } = await python(code, 30_000);
    // Each process is within its own rlimit (SANDBOX_MEMORY_MB = 1024); together they are not.
    expect(run.limits.memoryBytes).toBeGreaterThan(700 * 1024 * 1024);
    expect(run.cgroup).not.toBe('none');
    expect((out.match(/^allocated/gm) ?? []).length).toBeLessThan(6);
    expect(run.violations).toContain('memory');
  });

  it('fills the disk through many small files, and every tmpfs stops at its cap', async () => {
    const code = [
      'import os',
      'chunk = b"x" * (1024 * 1024)',
      'for where in ["/work/fill", "/tmp/fill", "/dev/shm/fill"]:',
      '    os.makedirs(where, exist_ok=True)',
      '    written = 0',
      '    try:',
      '        for i in range(100000):',
      '            with open(f"{where}/f{i}", "wb") as f:',
      '                f.write(chunk)',
      '            written += len(chunk)',
      '    except OSError as e:',
      '        print("stopped", where, written, e.errno, flush=True)',
      '    for name in os.listdir(where): os.unlink(f"{where}/{name}")',
    ].join('\n');
    const { run, out } = await python(code, 60_000);
    const cap = sandboxLimits().tmpfsBytes;
    const stops = [...out.matchAll(/^stopped (\S+) (\d+) (\d+)$/gm)];
    expect(stops.map((m) => m[1])).toEqual(['/work/fill', '/tmp/fill', '/dev/shm/fill']);
    for (const [, , written, errno] of stops) {
      expect(Number(written)).toBeLessThanOrEqual(cap);
      expect(Number(errno)).toBe(28); // ENOSPC: the tmpfs is full
    }
    expect(run.exitCode).toBe(0);
  });

  it('writes into the toolchain mounts (a .pth in site-packages, the interpreters, node_modules), and is refused', async () => {
    const tc = await toolchains();
    const marker = `sophia-escape-${process.pid}`;
    const code = [
      'import os, site, sys, sysconfig',
      `marker = ${JSON.stringify(marker)}`,
      'targets = [os.path.join(p, marker + ".pth") for p in site.getsitepackages() + ["/opt/sophia/pip", sysconfig.get_paths()["stdlib"]]]',
      'targets += [sys.executable, os.path.join(os.path.dirname(sys.executable), marker)]',
      'for t in targets:',
      '    try:',
      '        with open(t, "a") as f:',
      '            f.write("import os; os.system(\'echo pwned\')")',
      '        print("WROTE", t)',
      '    except OSError as e:',
      '        print("refused", e.errno, t)',
    ].join('\n');
    const { out } = await python(code);
    expect(out).not.toContain('WROTE');
    expect((out.match(/^refused (30|13) /gm) ?? []).length).toBe(5);
    // And nothing landed on the host: not in the pip tools, not next to the interpreter.
    expect(fs.existsSync(path.join(tc.pipDir ?? '/nonexistent', `${marker}.pth`))).toBe(false);
    expect(fs.existsSync(path.join(path.dirname(tc.python?.executable ?? '/'), marker))).toBe(false);

    const js = [
      "const fs = require('node:fs');",
      `for (const t of ['/node_modules/${marker}.js', '/node_modules/jest/${marker}.js', process.execPath]) {`,
      '  try { fs.appendFileSync(t, "x"); console.log("WROTE", t); } catch (e) { console.log("refused", e.code, t); }',
      '}',
    ].join('\n');
    const node = await executeSandboxed({ files: { 'w.js': js }, command: ['node', 'w.js'], language: 'javascript' });
    const nodeOut = node.stdout.toString('utf8');
    expect(nodeOut).not.toContain('WROTE');
    expect((nodeOut.match(/^refused (EROFS|EACCES) /gm) ?? []).length).toBe(3);
    expect(fs.existsSync(path.join(tc.nodeModules ?? '/nonexistent', `${marker}.js`))).toBe(false);
  });

  it('runs setuid binaries, and gains nothing: no new privileges, nosuid mounts', async () => {
    const code = [
      'import os, subprocess',
      'print("NoNewPrivs", [l.split()[1] for l in open("/proc/self/status") if l.startswith("NoNewPrivs")][0])',
      'print("nosuid /usr", bool(os.statvfs("/usr").f_flag & os.ST_NOSUID))',
      'setuid = [os.path.join(d, n) for d in ["/usr/bin", "/bin"] for n in os.listdir(d) if os.path.isfile(os.path.join(d, n)) and os.stat(os.path.join(d, n)).st_mode & 0o4000]',
      'print("setuid binaries", len(setuid))',
      'for cmd in [["su", "-c", "id -u", "root"], ["mount", "-t", "proc", "proc", "/tmp"], ["newgrp", "root"]]:',
      '    try:',
      '        r = subprocess.run(cmd, capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=5)',
      '        print("ran", cmd[0], r.returncode, repr(r.stdout.strip()))',
      '    except (OSError, subprocess.TimeoutExpired) as e:',
      '        print("ran", cmd[0], "failed", e)',
      'print("euid", os.geteuid())',
    ].join('\n');
    const { run, out } = await python(code);
    expect(out).toMatch(/^NoNewPrivs 1$/m);
    expect(out).toMatch(/^nosuid \/usr True$/m);
    expect(out).toMatch(/^euid [1-9]\d*$/m);
    expect(out).not.toMatch(/^ran \S+ 0 /m);
    expect(out).not.toMatch(/'0'/);
    expect(run.exitCode).toBe(0);
  });

  it("connects to the host's abstract unix sockets, and finds none", async () => {
    const name = `sophia-escape-${process.pid}-${Date.now()}`;
    let connections = 0;
    const server = net.createServer((socket) => {
      connections += 1;
      socket.end('hello from the host\n');
    });
    await new Promise<void>((resolve) => server.listen(`\0${name}`, resolve));
    try {
      // The host side works: the socket is really there.
      await new Promise<void>((resolve, reject) =>
        net
          .connect(`\0${name}`)
          .on('data', () => resolve())
          .on('error', reject),
      );
      const code = [
        'import socket',
        'for target in ["\\0' + name + '", "\\0/tmp/.X11-unix/X0", "\\0/containerd-shim"]:',
        '    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)',
        '    try:',
        '        s.connect(target)',
        '        print("CONNECTED", repr(target), s.recv(100))',
        '    except OSError as e:',
        '        print("refused", repr(target), e.errno)',
      ].join('\n');
      const { out } = await python(code);
      expect(out).not.toContain('CONNECTED');
      expect((out.match(/^refused /gm) ?? []).length).toBe(3);
      expect(connections).toBe(1);
    } finally {
      server.close();
    }
  });

  describe('forging its test report', () => {
    const FORGED =
      '<?xml version="1.0" encoding="utf-8"?><testsuites><testsuite name="pytest" tests="3"><testcase classname="forged" name="test_one"/><testcase classname="forged" name="test_two"/><testcase classname="forged" name="test_three"/></testsuite></testsuites>';

    it('writes a green report into the workspace, /tmp and the old report path, and the real result stands', async () => {
      const files = await artifactStore().putFiles({
        'test_forge.py': [
          'import os',
          `FORGED = ${JSON.stringify(FORGED)}`,
          'for p in ["/tmp/.sophia/report", "/tmp/report.xml", "/work/report.xml", "/work/.sophia-report"]:',
          '    try:',
          '        os.makedirs(os.path.dirname(p), exist_ok=True)',
          '        open(p, "w").write(FORGED)',
          '    except OSError:',
          '        pass',
          'for fd in (3, 6, 7):',
          '    try:',
          '        os.write(fd, FORGED.encode())',
          '        print("WROTE FD", fd)',
          '    except OSError:',
          '        pass',
          '',
          'def test_really_fails():',
          '    assert 1 == 2',
        ].join('\n'),
      });
      const result = await runTests({ files, language: 'python' });
      expect(result.report).toMatchObject({ passed: 0, failed: 1 });
      expect(result.report.failures[0]?.name).toBe('test_forge::test_really_fails');
      expect(await text(result.stdout)).not.toContain('WROTE FD');
    });

    it("writes a forged report onto the runner's own channel, and the run is an error, never green", async () => {
      const files = await artifactStore().putFiles({
        'test_channel.py': [
          'import os',
          `FORGED = ${JSON.stringify(FORGED)}`,
          'with open("/dev/fd/5", "w") as channel:',
          '    channel.write(FORGED)',
          '',
          'def test_really_fails():',
          '    assert 1 == 2',
        ].join('\n'),
      });
      const result = await runTests({ files, language: 'python' });
      // Two documents on one channel are no report; the failing exit status decides.
      expect(result.report.passed).toBe(0);
      expect(result.report.errors).toBeGreaterThanOrEqual(1);
      expect(result.report.failures[0]?.message).toMatch(/without one readable report/);
    });

    it('forges a green report and exits non-zero, and the disagreement makes it an error', async () => {
      const files = await artifactStore().putFiles({
        'test_exit.py': [
          'import os',
          `FORGED = ${JSON.stringify(FORGED)}`,
          '',
          'def test_forges_then_dies():',
          '    with open("/dev/fd/5", "w") as channel:',
          '        channel.write(FORGED)',
          '    os._exit(1)',
        ].join('\n'),
      });
      const result = await runTests({ files, language: 'python' });
      expect(result.exitCode).toBe(1);
      expect(result.report.errors).toBeGreaterThanOrEqual(1);
      expect(result.report.failures[0]?.message).toMatch(/the exit status and the report disagree/);
    });
  });
});
