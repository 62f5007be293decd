import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import type { ArtifactRef } from '../artifacts';

/** Test counts of one run, as the sandbox's TestReport has them. */
export interface ReviewTestCounts {
  passed: number;
  failed: number;
  errors: number;
  skipped: number;
}

/** What a review leaves for the next one to compare with. Small: references and counts only. */
export interface ReviewBaseline {
  /** `{ findings, tools, counts }` as `analyzeCode` stored it. */
  findings: ArtifactRef;
  totalFindings: number;
  tests?: ReviewTestCounts;
  workflowId: string;
  runId: string;
  /** Workflow time of the run that saved it; an older run never overwrites a newer baseline. */
  reviewedAt: string;
  /** The commit reviewed, for a review of a git repository. */
  commit?: string;
}

/**
 * The last review of each schedule (or repository), as one small JSON file per key. It holds
 * references only; the findings themselves are in the artifact store. It lives on the sandbox
 * worker's disk: with several sandbox hosts, put SOPHIA_DATA_DIR on shared storage.
 */
export class ReviewBaselineStore {
  constructor(private readonly dir: string) {}

  private file(key: string): string {
    return path.join(this.dir, `${createHash('sha256').update(key).digest('hex').slice(0, 32)}.json`);
  }

  async read(key: string): Promise<ReviewBaseline | undefined> {
    try {
      const stored = JSON.parse(await fs.readFile(this.file(key), 'utf8')) as { key: string; baseline: ReviewBaseline };
      return stored.baseline;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
  }

  /**
   * Writes the baseline unless a newer review already saved one, so a retried save of an old run
   * can never roll the baseline back. Atomic (temp file + rename). Returns whether it wrote.
   */
  async write(key: string, baseline: ReviewBaseline): Promise<boolean> {
    const current = await this.read(key);
    if (current && current.reviewedAt > baseline.reviewedAt) return false;
    await fs.mkdir(this.dir, { recursive: true });
    const file = this.file(key);
    const tmp = `${file}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
    await fs.writeFile(tmp, JSON.stringify({ key, baseline }, null, 2));
    await fs.rename(tmp, file);
    return true;
  }
}
