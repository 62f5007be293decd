/**
 * The contract of memory: what the lifecycle and the API send to the memory activities, and what
 * they get back. Types only, so workflows and the API import it.
 */

export const MEMORY_COLLECTION_NAMES = ['code', 'fixes', 'reviews', 'docs'] as const;
export type MemoryCollectionName = (typeof MEMORY_COLLECTION_NAMES)[number];

export interface MemoryItem {
  collection: MemoryCollectionName;
  project: string;
  text: string;
  language?: string;
  tags?: string[];
  /** Whether the work survived verification (tests green, review passed). */
  survived?: boolean;
  /** Anything else worth keeping with the record (path, symbol, workflowId…). Small values only. */
  metadata?: Record<string, string | number | boolean>;
}

export interface StoreMemoryInput {
  items: MemoryItem[];
  /** The tenant the items belong to; the API sets it from the caller's key. Default `local`. */
  tenant?: string;
}

export interface StoreMemoryResult {
  /** Content-derived ids, in input order: storing the same item again gives the same id. */
  ids: string[];
  stored: number;
}

export interface SearchMemoryInput {
  query: string;
  /** Only this tenant's memories are searched; the API sets it from the caller's key. Default `local`. */
  tenant?: string;
  /** Default: every collection. */
  collections?: MemoryCollectionName[];
  project?: string;
  language?: string;
  tags?: string[];
  survived?: boolean;
  /** Default 5. */
  topK?: number;
  /** Hits scoring below this are dropped. Default 0.1. */
  minScore?: number;
  /** Budget of the `context` string, in tokens (about four characters each). Default 1,500. */
  tokenBudget?: number;
  /** When given, only hits whose text uses one of these identifiers (as a whole identifier). */
  mentions?: string[];
  /**
   * Function name → parameter count, as the task defines them: hits that define one of these names
   * with another count (a same-named function of another task) are dropped.
   */
  signatures?: Record<string, number>;
}

export interface MemorySearchHit {
  id: string;
  collection: MemoryCollectionName;
  score: number;
  text: string;
  project: string;
  language?: string;
  tags?: string[];
  survived?: boolean;
  path?: string;
  symbol?: string;
  startLine?: number;
  endLine?: number;
}

export interface SearchMemoryResult {
  hits: MemorySearchHit[];
  /** The hits formatted for a prompt, best first, trimmed to the token budget. Empty when nothing matched. */
  context: string;
  contextTokens: number;
}

/** Workflow type names, for clients that start workflows by name (the API). */
export const SEARCH_MEMORY_WORKFLOW = 'searchMemoryWorkflow';
export const STORE_MEMORY_WORKFLOW = 'storeMemoryWorkflow';
