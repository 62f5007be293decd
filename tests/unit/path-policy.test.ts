import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { modelPath, normaliseModelPath, pathProblem } from '../../common/path-policy';
import { lexicalRefusal, parseRepoRoots, resolveRepoPath } from '../../common/repo-roots';

describe('the path policy', () => {
  it('accepts ordinary relative paths', () => {
    for (const ok of ['calc.py', 'src/app/main.ts', 'tests/test_calc.py', 'a.b/c-d_e.txt', 'dir/.gitignore', 'é/ü.py'])
      expect([ok, pathProblem(ok)]).toEqual([ok, undefined]);
  });

  it.each([
    ['', 'empty'],
    ['/etc/passwd', 'relative'],
    ['../x', '. or ..'],
    ['a/../b', '. or ..'],
    ['./a', '. or ..'],
    ['pkg/', 'trailing'],
    ['a//b', 'empty segments'],
    ['a\\b', 'backslash'],
    ['C:/x', 'drive letter'],
    ['c:x', 'drive letter'],
    ['.git/config', '.git'],
    ['sub/.GIT/hooks/pre-commit', '.git'],
    ['a\u0000b', 'control'],
    ['a\nb', 'control'],
    ['a\u0085b', 'control'],
    ['evil\u202Etxt.py', 'bidirectional'],
    ['x\u2066y', 'bidirectional'],
    ['x\ud800y', 'lone surrogates'],
    ['x'.repeat(256), '255 bytes'],
    [`${'é'.repeat(128)}`, '255 bytes'],
    [`${'d/'.repeat(600)}f`, '1024 bytes'],
  ])('refuses %j (%s)', (name, why) => {
    expect(pathProblem(name)).toContain(why);
  });

  it('normalises a model answer, and refuses what the policy refuses with ModelOutputInvalid', () => {
    expect(normaliseModelPath('./src/a.py')).toBe('src/a.py');
    expect(normaliseModelPath('../a.py')).toBeUndefined();
    expect(modelPath('././calc.py')).toBe('calc.py');
    expect(() => modelPath('.git/hooks/post-checkout')).toThrow(
      expect.objectContaining({ type: 'ModelOutputInvalid', nonRetryable: true }),
    );
  });
});

describe('repository roots', () => {
  const root = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'sophia-roots-')));
  const repo = path.join(root, 'repo');
  const outside = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'sophia-outside-')));
  beforeAll(() => {
    fs.mkdirSync(repo);
    fs.symlinkSync(outside, path.join(root, 'escape'));
    fs.symlinkSync('/etc', path.join(root, 'etc-link'));
  });
  afterAll(() => {
    fs.rmSync(root, { recursive: true, force: true });
    fs.rmSync(outside, { recursive: true, force: true });
  });

  it('parses SOPHIA_REPO_ROOTS on commas and colons, absolute paths only', () => {
    expect(parseRepoRoots('/a, /b/:/c,relative,')).toEqual(['/a', '/b', '/c']);
    expect(parseRepoRoots(undefined)).toEqual([]);
  });

  it('reads a repository under a root', async () => {
    expect(await resolveRepoPath(repo, [root])).toEqual({ path: repo });
  });

  it('refuses everything when no root is configured, saying what to set', () => {
    expect(lexicalRefusal(repo, [])?.message).toContain('SOPHIA_REPO_ROOTS');
  });

  it('refuses /etc, /root and /proc even under a root of /', async () => {
    for (const system of ['/etc', '/root', '/proc/self', '/etc/ssh'])
      expect(lexicalRefusal(system, ['/'])).toMatchObject({ type: 'PathNotAllowed' });
  });

  it('refuses a path outside the roots, malformed paths, and a symlink that leads out of a root', async () => {
    expect(await resolveRepoPath(outside, [root])).toMatchObject({ refusal: { type: 'PathNotAllowed' } });
    expect(await resolveRepoPath(`${root}/../${path.basename(outside)}`, [root])).toMatchObject({
      refusal: { type: 'InvalidInput' },
    });
    expect(await resolveRepoPath(`${repo}\u0000x`, [root])).toMatchObject({ refusal: { type: 'InvalidInput' } });
    expect(await resolveRepoPath('relative/repo', [root])).toMatchObject({ refusal: { type: 'InvalidInput' } });
    const escaped = await resolveRepoPath(path.join(root, 'escape'), [root]);
    expect(escaped).toMatchObject({ refusal: { type: 'PathNotAllowed' } });
    expect(JSON.stringify(escaped)).not.toContain(outside);
    expect(await resolveRepoPath(path.join(root, 'etc-link'), [root])).toMatchObject({
      refusal: { type: 'PathNotAllowed' },
    });
  });
});
