import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ApiError, ApiUnreachableError } from '../../cli/api-client';
import { EXIT, exitCodeFor, exitCodeForOutcome } from '../../cli/exit-codes';
import { LocalFileError, readInputFiles, writeOutputFiles } from '../../cli/files';
import { FAILURE_TYPES, FAILURES } from '../../common/failures';

describe('the CLI exit codes', () => {
  it("exits with the catalogue's exit code for every failure type the API answers", () => {
    for (const type of FAILURE_TYPES) {
      expect(exitCodeFor(new ApiError(FAILURES[type].httpStatus, type, 'failed'))).toBe(FAILURES[type].exitCode);
    }
  });

  it('keeps its own codes apart from the catalogue: 2 for bad input, 12 for an unreachable API, 1 for the rest', () => {
    const catalogue = new Set<number>(FAILURE_TYPES.map((t) => FAILURES[t].exitCode));
    expect(catalogue.has(EXIT.apiUnreachable)).toBe(false);
    expect(catalogue.has(EXIT.failed)).toBe(false);
    expect(exitCodeFor(new ApiUnreachableError('http://localhost:8000', 'ECONNREFUSED'))).toBe(12);
    expect(exitCodeFor(new ApiError(400, 'MalformedJson', 'bad'))).toBe(2);
    expect(exitCodeFor(new ApiError(404, 'JobNotFound', 'no such job'))).toBe(1);
    expect(exitCodeFor(new ApiError(503, 'TemporalUnavailable', 'down'))).toBe(FAILURES.DependencyUnavailable.exitCode);
  });

  it("lists every failure type under its own exit code in the README's CLI section", () => {
    const readme = fs.readFileSync(path.join(__dirname, '..', '..', 'README.md'), 'utf8');
    const section = readme.slice(readme.indexOf('## CLI'), readme.indexOf('## MCP'));
    const listed = new Map<string, number>();
    // "`3` ModelConfig, ModelAuth, …;" — a code, then the types that exit with it.
    for (const [, code, names] of section.matchAll(/`(\d+)` ([^;`]+)/g)) {
      for (const name of names!.split(/,|\band\b/).map((n) => n.trim().split(/\s/)[0]!)) listed.set(name, Number(code));
    }
    for (const type of FAILURE_TYPES) expect([type, listed.get(type)]).toEqual([type, FAILURES[type].exitCode]);
  });

  it("exits with the outcome's catalogue code when a job completes without succeeding", () => {
    expect(exitCodeForOutcome('succeeded')).toBe(0);
    expect(exitCodeForOutcome('budget-exhausted')).toBe(FAILURES.BudgetExhausted.exitCode);
    expect(exitCodeForOutcome('rejected')).toBe(FAILURES.ReviewRejected.exitCode);
    expect(exitCodeForOutcome('cancelled')).toBe(1);
  });
});

describe('the CLI files', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sophia-cli-unit-'));
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('sends a file under its path relative to the working directory, and one outside it under its base name', async () => {
    fs.mkdirSync(path.join(dir, 'src'), { recursive: true });
    fs.writeFileSync(path.join(dir, 'src', 'a.py'), 'A');
    fs.writeFileSync(path.join(os.tmpdir(), 'sophia-cli-outside.py'), 'B');
    const files = await readInputFiles(['src/a.py', path.join(os.tmpdir(), 'sophia-cli-outside.py')], dir);
    expect(files).toEqual({ 'src/a.py': 'A', 'sophia-cli-outside.py': 'B' });
    await expect(readInputFiles(['missing.py'], dir)).rejects.toThrow(LocalFileError);
  });

  it('writes nested files under --out and refuses, writing nothing, a path that would leave it', async () => {
    const out = path.join(dir, 'out');
    await writeOutputFiles(out, { 'pkg/mod.py': 'x = 1\n' });
    expect(fs.readFileSync(path.join(out, 'pkg', 'mod.py'), 'utf8')).toBe('x = 1\n');
    await expect(writeOutputFiles(out, { 'ok.py': '', '../escape.py': 'bad' })).rejects.toThrow(/Refusing the path/);
    await expect(writeOutputFiles(out, { '/etc/evil': 'bad' })).rejects.toThrow(/relative/);
    await expect(writeOutputFiles(out, { '.git/hooks/pre-commit': 'bad' })).rejects.toThrow(/\.git/);
    await expect(writeOutputFiles(out, { 'evil\u202Eyp.sh': 'bad' })).rejects.toThrow(/bidirectional/);
    expect(fs.existsSync(path.join(dir, 'escape.py'))).toBe(false);
    expect(fs.existsSync(path.join(out, 'ok.py'))).toBe(false);
  });

  it('never writes through a symlink under --out, as a folder or as the file', async () => {
    const out = path.join(dir, 'out-links');
    const elsewhere = fs.mkdtempSync(path.join(os.tmpdir(), 'sophia-cli-elsewhere-'));
    fs.mkdirSync(out, { recursive: true });
    fs.symlinkSync(elsewhere, path.join(out, 'pkg'));
    fs.symlinkSync(path.join(elsewhere, 'target.py'), path.join(out, 'file.py'));
    await expect(writeOutputFiles(out, { 'pkg/mod.py': 'bad' })).rejects.toThrow(/symlink/);
    await expect(writeOutputFiles(out, { 'file.py': 'bad' })).rejects.toThrow(/symlink/);
    expect(fs.readdirSync(elsewhere)).toEqual([]);
  });
});
