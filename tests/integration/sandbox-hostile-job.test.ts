import request from 'supertest';
import type { CodingJobResult } from '../../workflows/coding-job/definitions';
import { useJobStack } from '../support/job-stack';

/**
 * End to end: a user submits, through the API, a test file whose every test tries one escape and
 * asserts that it failed. The job runs it in the real sandbox; every test passing means every
 * attempt was refused. The model is scripted (a clean review); the sandbox, workers and Temporal are real.
 */

const HOSTILE_TESTS = String.raw`
import ctypes, errno, os, socket, subprocess

libc = ctypes.CDLL(None, use_errno=True)


def test_a_nested_user_namespace_is_refused():
    assert libc.unshare(0x10000000) == -1 and ctypes.get_errno() == errno.EPERM
    r = subprocess.run(["unshare", "-Ur", "id", "-u"], capture_output=True, text=True)
    assert r.returncode != 0 and r.stdout.strip() != "0"


def test_mount_is_refused():
    os.makedirs("/tmp/m", exist_ok=True)
    assert libc.mount(b"none", b"/tmp/m", b"tmpfs", 0, b"size=12g") == -1
    assert not os.path.ismount("/tmp/m")


def test_ptrace_of_pid_1_is_refused():
    assert libc.ptrace(16, 1, 0, 0) == -1 and ctypes.get_errno() == errno.EPERM


def test_six_processes_of_700_mb_do_not_all_fit():
    pids = []
    for i in range(6):
        pid = os.fork()
        if pid == 0:
            block = bytearray(700 * 1024 * 1024)
            for j in range(0, len(block), 4096):
                block[j] = 1
            os._exit(0)
        pids.append(pid)
    statuses = [os.waitpid(pid, 0)[1] for pid in pids]
    assert any(status != 0 for status in statuses)


def test_filling_the_disk_with_many_files_stops():
    written = 0
    try:
        for i in range(100000):
            with open(f"/tmp/fill{i}", "wb") as f:
                f.write(b"x" * (1024 * 1024))
            written += 1
    except OSError as e:
        assert e.errno == errno.ENOSPC
    finally:
        for i in range(written + 1):
            try:
                os.unlink(f"/tmp/fill{i}")
            except OSError:
                pass
    assert written < 100000


def test_a_pth_in_site_packages_is_refused():
    import site
    for target in site.getsitepackages() + ["/opt/sophia/pip"]:
        try:
            open(os.path.join(target, "evil.pth"), "w").write("import os")
        except OSError as e:
            assert e.errno in (errno.EROFS, errno.EACCES)
        else:
            raise AssertionError(f"wrote into {target}")


def test_setuid_binaries_give_nothing():
    assert "NoNewPrivs:\t1" in open("/proc/self/status").read()
    r = subprocess.run(["su", "-c", "id -u", "root"], capture_output=True, text=True, stdin=subprocess.DEVNULL)
    assert r.returncode != 0 and os.geteuid() != 0


def test_abstract_unix_sockets_of_the_host_are_unreachable():
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        s.connect("\0/containerd-shim")
    except OSError:
        pass
    else:
        raise AssertionError("connected to a host socket")


def test_proc_shows_no_host_process_or_secret():
    cmds = [open(f"/proc/{p}/cmdline", "rb").read() for p in os.listdir("/proc") if p.isdigit()]
    assert all(not c.startswith(b"node") for c in cmds)
    assert "OPENAI_API_KEY" not in os.environ
    try:
        assert b"sk-" not in open("/proc/1/environ", "rb").read()
    except PermissionError:
        pass


def test_the_old_report_path_is_not_the_report():
    os.makedirs("/tmp/.sophia", exist_ok=True)
    open("/tmp/.sophia/report", "w").write('<testsuites><testsuite><testcase name="forged"/></testsuite></testsuites>')
`;

const stack = useJobStack({ env: { OPENAI_API_KEY: 'sk-hostile-job-secret' } });

describe('a hostile test file submitted through the API', () => {
  it('finds every escape attempt refused, and the job reports its ten tests passing and the memory ceiling hit', async () => {
    stack.model.setScript({
      rules: [
        {
          match: 'code reviewer',
          in: 'system',
          reply: { content: { findings: [], summary: 'Tests only.' } },
        },
      ],
    });
    const res = await request(stack.app)
      .post('/api/workflows')
      .send({
        task: 'review',
        language: 'python',
        description: `review the sandbox escape tests ${Date.now()}`,
        files: { 'escape.py': '"""Nothing to import."""\n', 'test_escape.py': HOSTILE_TESTS },
        options: { maxIterations: 1 },
      })
      .expect(202);
    const result = (
      await request(stack.app).get(`/api/workflows/${res.body.workflowId}/result?wait=100000`).expect(200)
    ).body.result as CodingJobResult;
    const tests = result.iterations.map((i) => i.tests).find(Boolean);
    // Every attempt failed, so every test passed; the run notes that it hit its memory ceiling (the
    // six processes of 700 MB).
    expect(tests).toMatchObject({ passed: 10, failed: 0, errors: 0 });
    expect(tests?.summary).toMatch(/^10 passed \(.*hit the memory limit/);
    // The forged file in /tmp/.sophia did not become the report: the ten real cases did.
    expect(tests?.summary).not.toContain('forged');
  }, 150_000);
});
