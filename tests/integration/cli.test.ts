import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { FAILURES } from '../../common/failures';
import { testApp } from '../support/api';
import { calcScript } from '../support/calc-script';
import { deadUrl, runSophia } from '../support/cli';
import { useJobStack } from '../support/job-stack';

const CODE = 'def add(a, b):\n    """Add two numbers."""\n    return a + b\n';
const TESTS = 'from calc import add\n\n\ndef test_add():\n    assert add(1, 2) == 3, "one plus two is three"\n';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'sophia-cli-'));
const stack = useJobStack({ listen: true });
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

function scriptGreenJob(): void {
  stack.model.reset();
  stack.model.setScript(calcScript({ code: CODE, tests: TESTS }));
}

/** No stack trace: no "    at fn (file:line)" frames. */
const noStack = (text: string) => expect(text).not.toMatch(/^\s+at .+:\d+/m);

describe('the sophia CLI against the real API, workers and Temporal', () => {
  it('asks in plain words with a file from disk, writes the answer to --out, then shows status and result', async () => {
    scriptGreenJob();
    const cwd = fs.mkdtempSync(path.join(tmp, 'ask-'));
    fs.writeFileSync(path.join(cwd, 'notes.txt'), 'SPEC-MARKER-7: add must return the sum\n');
    const out = path.join(cwd, 'out');

    const ask = await runSophia(
      [
        'ask',
        `Create an add(a, b) function ${Date.now()}`,
        '--file',
        'notes.txt',
        '--language',
        'python',
        '--out',
        'out',
        '--api',
        stack.url,
      ],
      { cwd },
    );
    expect(ask.stderr).toBe('');
    expect(ask.code).toBe(0);
    expect(ask.stdout).toMatch(/outcome\s+succeeded \(generate, python\)/);
    expect(ask.stdout).toMatch(/tests\s+1 passed, 0 failed/);
    expect(ask.stdout).toMatch(/Web UI\s+http:\/\/localhost:8233\/namespaces\/default\/workflows\/job-/);
    expect(fs.readFileSync(path.join(out, 'calc.py'), 'utf8')).toBe(CODE);
    expect(fs.readFileSync(path.join(out, 'test_calc.py'), 'utf8')).toBe(TESTS);
    // The file was read from disk and reached the model under its relative path.
    const generate = stack.model.chatRequests()[0]!;
    expect(generate.user).toContain('SPEC-MARKER-7');
    const id = /^job\s+(job-\S+)$/m.exec(ask.stdout)![1]!;

    const status = await runSophia(['status', id, '--api', stack.url]);
    expect(status.code).toBe(0);
    expect(status.stdout).toMatch(/status\s+COMPLETED/);
    expect(status.stdout).toMatch(/phase\s+DONE, iteration 0/);
    expect(status.stdout).toContain(`/workflows/${id}/`);

    const json = await runSophia(['--json', 'status', id, '--api', stack.url]);
    expect(JSON.parse(json.stdout)).toMatchObject({
      workflowId: id,
      status: 'COMPLETED',
      phase: 'DONE',
      outcome: 'succeeded',
    });

    const result = await runSophia([
      'result',
      id,
      '--wait',
      '1000',
      '--out',
      path.join(cwd, 'again'),
      '--api',
      stack.url,
    ]);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/outcome\s+succeeded/);
    expect(result.stdout).toMatch(/steps\s+generate → write-tests/);
    expect(result.stdout).toMatch(/tests\s+1 passed, 0 failed/);
    expect(fs.readFileSync(path.join(cwd, 'again', 'calc.py'), 'utf8')).toBe(CODE);

    const files = await runSophia(['files', id, '--out', path.join(cwd, 'files'), '--api', stack.url]);
    expect(files.code).toBe(0);
    expect(fs.readFileSync(path.join(cwd, 'files', 'test_calc.py'), 'utf8')).toBe(TESTS);
  });

  it("exits with the catalogue's exit code of a failed job's type, with one line and the hint, no stack", async () => {
    stack.model.reset();
    stack.model.setScript({ default: { fault: 'unauthorized', message: 'key revoked' } });
    const run = await runSophia([
      'run',
      'generate',
      '--description',
      `a slugify function ${Date.now()}`,
      '--language',
      'python',
      '--api',
      stack.url,
    ]);
    expect(run.code).toBe(0);
    const id = /^job\s+(job-\S+)$/m.exec(run.stdout)![1]!;

    const result = await runSophia(['result', id, '--wait', '60000', '--api', stack.url]);
    expect(result.code).toBe(FAILURES.ModelAuth.exitCode);
    expect(result.stderr.split('\n')[0]).toMatch(/^sophia: ModelAuth: .+/);
    expect(result.stderr).toContain(`hint: ${FAILURES.ModelAuth.hint}`);
    expect(result.stdout).toBe('');
    noStack(result.stderr);

    const json = await runSophia(['result', id, '--json', '--api', stack.url]);
    expect(json.code).toBe(FAILURES.ModelAuth.exitCode);
    expect(JSON.parse(json.stdout).error).toMatchObject({
      code: 'ModelAuth',
      details: { workflowId: id, hint: FAILURES.ModelAuth.hint },
    });
  });

  it('says an unknown job is not found, exiting 1', async () => {
    const status = await runSophia(['status', `job-nope-${Date.now()}`, '--api', stack.url]);
    expect(status.code).toBe(1);
    expect(status.stderr).toMatch(/^sophia: JobNotFound: /);
    noStack(status.stderr);
  });

  it('follows a running job phase by phase, then prints its result with the result exit code', async () => {
    scriptGreenJob();
    // A model that takes its time: the job is still generating when `follow` connects (each CLI run
    // starts a tsx process: under a second on an idle machine, over 4 s on a loaded one).
    stack.model.enqueue({
      content: { files: [{ path: 'calc.py', content: CODE }], explanation: 'add returns the sum' },
      delayMs: 15_000,
    });
    const run = await runSophia([
      'run',
      'generate',
      '--description',
      `add, followed ${Date.now()}`,
      '--api',
      stack.url,
    ]);
    expect(run.code).toBe(0);
    const id = /^job\s+(job-\S+)/m.exec(run.stdout)![1]!;

    const follow = await runSophia(['follow', id, '--api', stack.url]);
    expect(follow.stderr).toBe('');
    expect(follow.code).toBe(0);
    const lines = follow.stdout.split('\n');
    const phaseAt = (phase: string) => lines.findIndex((l) => new RegExp(`^\\d\\d:\\d\\d:\\d\\d  ${phase}\\b`).test(l));
    expect(phaseAt('GENERATE')).toBeGreaterThanOrEqual(0);
    expect(phaseAt('DONE')).toBeGreaterThan(phaseAt('GENERATE'));
    expect(follow.stdout).toMatch(/outcome\s+succeeded/);

    const unknown = await runSophia(['follow', `job-nope-${Date.now()}`, '--api', stack.url]);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/^sophia: JobNotFound: /);
  });

  it('says how to start the API when nothing answers, with its own exit code', async () => {
    const url = await deadUrl(testApp().app);
    const status = await runSophia(['status', 'job-anything'], { env: { SOPHIA_API_URL: url } });
    expect(status.code).toBe(12);
    expect(status.stderr).toContain(`The Sophia API at ${url} is unreachable`);
    expect(status.stderr).toContain('npm start');
    noStack(status.stderr);
  });

  it('lists review schedules, and says an unknown one is not found', async () => {
    const listed = await runSophia(['schedules', 'list', '--json', '--api', stack.url]);
    expect(listed.code).toBe(0);
    expect(Array.isArray(JSON.parse(listed.stdout).schedules)).toBe(true);

    const unknown = await runSophia(['schedules', 'show', `nope-${Date.now()}`, '--api', stack.url]);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/^sophia: \w+NotFound: /);

    const noId = await runSophia(['schedules', 'trigger', '--api', stack.url]);
    expect(noId.code).toBe(2);
    expect(noId.stderr).toContain('schedules trigger needs a schedule id');
  });

  it('exits 2 with the usage on a bad command line, and on input the API rejects', async () => {
    const unknown = await runSophia(['frobnicate']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('Unknown command "frobnicate"');
    expect(unknown.stderr).toContain('usage: sophia');

    const missing = await runSophia(['result', '--api', stack.url]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('usage: sophia result <id>');

    const badWait = await runSophia(['result', 'job-x', '--wait', 'soon', '--api', stack.url]);
    expect(badWait.code).toBe(2);
    expect(badWait.stderr).toContain('--wait takes a number of milliseconds');

    const badOption = await runSophia(['status', 'job-x', '--frob', '--api', stack.url]);
    expect(badOption.code).toBe(2);
    expect(badOption.stderr).toContain('usage: sophia status <id>');

    const noFile = await runSophia(['ask', 'fix it', '--file', 'does-not-exist.py', '--api', stack.url]);
    expect(noFile.code).toBe(2);
    expect(noFile.stderr).toContain('Cannot read --file does-not-exist.py');

    const invalid = await runSophia(['ask', 'write a parser', '--language', 'cobol', '--api', stack.url]);
    expect(invalid.code).toBe(FAILURES.InvalidInput.exitCode);
    expect(invalid.stderr).toMatch(/^sophia: InvalidInput: /);
    expect(invalid.stderr).toMatch(/^\s+language: /m);
  });
});
