import type { Finding } from '../../activities/analysis/finding';
import { compareFindings, summarizeDelta } from '../../activities/review/compare-findings';
import { isReviewedPath } from '../../activities/review/snapshot';
import { reviewBaselineKey } from '../../workflows/scheduled-review/definitions';

const finding = (rule: string, line: number, message = `${rule} message`, file = 'a.py'): Finding => ({
  tool: 'ruff',
  rule,
  severity: 'warning',
  file,
  line,
  message,
});

describe('comparing the findings of two reviews', () => {
  test('treats a finding that only moved to another line as still open, with its new line', () => {
    const delta = compareFindings([finding('F401', 1)], [finding('F401', 7)]);
    expect(delta).toEqual({ new: [], fixed: [], stillOpen: [finding('F401', 7)] });
  });

  test('splits findings into new, fixed and still open by tool, rule, file and message', () => {
    const previous = [finding('F401', 1, '`os` imported but unused'), finding('E711', 5)];
    const current = [finding('F401', 2, '`os` imported but unused'), finding('F401', 3, '`sys` imported but unused')];
    const delta = compareFindings(previous, current);
    expect(delta.new.map((f) => f.message)).toEqual(['`sys` imported but unused']);
    expect(delta.fixed.map((f) => f.rule)).toEqual(['E711']);
    expect(delta.stillOpen.map((f) => f.line)).toEqual([2]);
    expect(summarizeDelta(delta, false)).toBe('1 new, 1 fixed, 1 still open');
  });

  test('counts identical findings, so losing one of two is one fixed and one still open', () => {
    const delta = compareFindings([finding('E711', 3), finding('E711', 9)], [finding('E711', 4)]);
    expect(delta.stillOpen).toHaveLength(1);
    expect(delta.fixed).toHaveLength(1);
    expect(delta.new).toHaveLength(0);
  });

  test('reports the same rule in another file as new', () => {
    const delta = compareFindings([finding('F401', 1)], [finding('F401', 1, 'F401 message', 'b.py')]);
    expect(delta.new).toHaveLength(1);
    expect(delta.fixed).toHaveLength(1);
    expect(summarizeDelta(compareFindings([], [finding('F401', 1)]), true)).toBe('first review: 1 finding');
  });
});

describe('what a review snapshots', () => {
  test('keeps the language sources and test configuration and leaves vendored, built and minified files out', () => {
    expect(isReviewedPath('src/app.py', 'python')).toBe(true);
    expect(isReviewedPath('pyproject.toml', 'python')).toBe(true);
    expect(isReviewedPath('src/app.ts', 'python')).toBe(false);
    expect(isReviewedPath('src/app.ts', 'typescript')).toBe(true);
    expect(isReviewedPath('package.json', 'javascript')).toBe(true);
    expect(isReviewedPath('node_modules/x/index.js', 'javascript')).toBe(false);
    expect(isReviewedPath('dist/app.js', 'javascript')).toBe(false);
    expect(isReviewedPath('public/app.min.js', 'javascript')).toBe(false);
    expect(isReviewedPath('types/app.d.ts', 'typescript')).toBe(false);
    expect(isReviewedPath('.venv/lib/site.py', 'python')).toBe(false);
  });

  test('keys the baseline by schedule when there is one, else by repository and language', () => {
    expect(reviewBaselineKey({ scheduleId: 's1', repositoryPath: '/r', language: 'python' })).toBe('schedule:s1');
    expect(reviewBaselineKey({ repositoryPath: '/r', language: 'python' })).toBe('repository:python:/r');
  });
});
