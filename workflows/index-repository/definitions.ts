import { defineQuery } from '@temporalio/workflow';
import type { ArtifactRef } from '../../activities/artifacts/store';

/** The contract of repository indexing. The API imports this file: types and messages only. */

export const INDEX_PHASES = ['planning', 'indexing', 'finishing', 'done'] as const;
export type IndexPhase = (typeof INDEX_PHASES)[number];

export interface IndexRepositoryInput {
  /** Absolute path of a local git repository (or any directory) readable by the memory worker. */
  repoPath: string;
  /** The memory project the chunks are filed under; searches filter on it. */
  project: string;
  /** Files per activity call. Default 100. */
  batchSize?: number;
  /** Batches per run before continuing as new. Default 50. */
  batchesPerRun?: number;
  /** Set by the workflow itself when it continues as new on a big repository. */
  resume?: IndexResumeState;
  /** The tenant the chunks are filed under (`SophiaTenant`). Default `local`. */
  tenant?: string;
}

export interface IndexResumeState {
  plan: PlanRepositoryIndexResult;
  offset: number;
  progress: IndexProgress;
}

export interface IndexProgress {
  phase: IndexPhase;
  totalFiles: number;
  /** Files that are new or changed since the last index (by content hash). */
  changedFiles: number;
  filesIndexed: number;
  chunksIndexed: number;
  removedFiles: number;
  skippedFiles: number;
  /** How many runs the indexing took (continue-as-new on big repositories). */
  runs: number;
}

export type IndexRepositoryResult = IndexProgress;

export interface PlanRepositoryIndexInput {
  repoPath: string;
  project: string;
  /** The tenant that owns the index (default `local`). */
  tenant?: string;
}

export interface PlanRepositoryIndexResult {
  /** JSON in the artifact store: the changed files (path + hash) and the removed paths. */
  planRef: ArtifactRef;
  totalFiles: number;
  changedFiles: number;
  removedFiles: number;
  skippedFiles: number;
}

export interface IndexRepositoryFilesInput {
  repoPath: string;
  project: string;
  /** The tenant that owns the index (default `local`). */
  tenant?: string;
  planRef: ArtifactRef;
  /** Index of the first changed file of this batch in the plan. */
  offset: number;
  limit: number;
}

export interface IndexRepositoryFilesResult {
  filesIndexed: number;
  chunksIndexed: number;
  nextOffset: number;
}

export interface FinishRepositoryIndexInput {
  project: string;
  /** The tenant that owns the index (default `local`). */
  tenant?: string;
  planRef: ArtifactRef;
}

export interface FinishRepositoryIndexResult {
  removedFiles: number;
  removedChunks: number;
}

/** The indexing progress, live. */
export const indexProgressQuery = defineQuery<IndexProgress>('indexProgress');

/** The workflow id of a project's indexing: one at a time per project, and a retried start is a no-op. */
export function indexWorkflowId(project: string, tenant = 'local'): string {
  return `index-repository:${tenant}:${project}`;
}

/** Workflow type names, for clients that start workflows by name (the API). */
export const INDEX_REPOSITORY_WORKFLOW = 'indexRepositoryWorkflow';
