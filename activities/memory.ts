import fs from 'node:fs/promises';
import path from 'node:path';
import { Context } from '@temporalio/activity';
import { config } from '../common/config';
import { definesOtherSignature } from '../common/task-names';
import { artifactStore } from './artifacts';
import { timeMemoryOperation } from './cache/metrics';
import { chunkFile, languageOf } from './memory/chunker';
import { memoryEmbedder, memoryStore } from './memory/index';
import { RepositoryStateFile, scanRepository, type RepositoryFile } from './memory/repository';
import {
  MEMORY_COLLECTIONS,
  tenantMemoryId,
  tenantOf,
  type MemoryCollection,
  type MemoryHit,
  type MemoryPayload,
  type MemoryRecord,
} from './memory/store';
import type {
  FinishRepositoryIndexInput,
  FinishRepositoryIndexResult,
  IndexRepositoryFilesInput,
  IndexRepositoryFilesResult,
  PlanRepositoryIndexInput,
  PlanRepositoryIndexResult,
} from '../workflows/index-repository/definitions';
import type {
  MemorySearchHit,
  SearchMemoryInput,
  SearchMemoryResult,
  StoreMemoryInput,
  StoreMemoryResult,
} from '../workflows/memory/definitions';

/** Activities of the memory pool: store and search memories, index repositories. */

const CHARS_PER_TOKEN = 4;
const EMBED_BATCH = 64;

async function embedAll(texts: string[]): Promise<Float32Array[]> {
  const embedder = memoryEmbedder();
  const out: Float32Array[] = [];
  for (let i = 0; i < texts.length; i += EMBED_BATCH) {
    out.push(
      ...(await timeMemoryOperation('embed', embedder.name, () => embedder.embed(texts.slice(i, i + EMBED_BATCH)))),
    );
  }
  return out;
}

async function upsertRecords(collection: MemoryCollection, records: MemoryRecord[]): Promise<void> {
  if (records.length === 0) return;
  await memoryStore().ensureCollection(collection, memoryEmbedder());
  await memoryStore().upsert(collection, records);
}

/**
 * Stores memories (finished code, the fixes that turned tests green, review findings), embedded with
 * the configured embedder. Idempotent: ids derive from collection + project + text, so a retry or a
 * replayed job stores nothing new. startToCloseTimeout ~1 min (embedding calls). Failures:
 * `EmbedderMismatch` (the collection was built with another embedder; non-retryable), `InvalidInput`,
 * `DependencyUnavailable` / `ModelUnavailable` (Qdrant or the embeddings endpoint down; retried).
 */
export async function storeMemory(input: StoreMemoryInput): Promise<StoreMemoryResult> {
  const vectors = await embedAll(input.items.map((item) => item.text));
  const records = input.items.map((item, i): MemoryRecord => {
    const payload: MemoryPayload = {
      ...item.metadata,
      project: item.project,
      collection: item.collection,
      language: item.language,
      tags: item.tags ?? [],
      survived: item.survived,
    };
    // No timestamp in the payload: a retry would then differ from the first attempt. Undefined fields would differ from absent ones after a JSON round trip and defeat idempotency.
    for (const key of Object.keys(payload)) if (payload[key] === undefined) delete payload[key];
    return {
      id: tenantMemoryId(input.tenant, item.collection, item.project, item.text),
      text: item.text,
      vector: vectors[i]!,
      payload,
      tenant: tenantOf(input.tenant),
    };
  });
  for (const collection of MEMORY_COLLECTIONS) {
    await upsertRecords(
      collection,
      records.filter((r) => r.payload.collection === collection),
    );
  }
  return { ids: records.map((r) => r.id), stored: records.length };
}

/**
 * Searches memory with a natural-language or code query, across collections, filtered by project,
 * language, tags and survival. Returns the hits and a `context` string for a prompt, best first,
 * within `tokenBudget`. Read-only, so idempotent. startToCloseTimeout ~30 s. Failures:
 * `EmbedderMismatch` (non-retryable), `DependencyUnavailable` / `ModelUnavailable` (retried).
 */
export async function searchMemory(input: SearchMemoryInput): Promise<SearchMemoryResult> {
  const [vector] = await embedAll([input.query]);
  const topK = input.topK ?? 5;
  const minScore = input.minScore ?? 0.1;
  const mentions = input.mentions?.length ? input.mentions : undefined;
  const signatures = input.signatures && Object.keys(input.signatures).length ? input.signatures : undefined;
  // Hits that name none of `mentions`, or define another signature, are dropped afterwards, so each collection offers more.
  const candidates = mentions || signatures ? topK * 4 : topK;
  const collections = input.collections?.length ? input.collections : [...MEMORY_COLLECTIONS];
  const filter = { project: input.project, language: input.language, tags: input.tags, survived: input.survived };
  const found: MemorySearchHit[] = [];
  for (const collection of collections) {
    const embedder = await memoryStore().embedderOf(collection);
    if (!embedder) continue;
    const hits = await memoryStore().search({
      collection,
      vector: vector!,
      topK: candidates,
      filter,
      tenant: input.tenant,
    });
    found.push(...hits.map((h) => toSearchHit(collection, h)));
  }
  const hits = found
    .filter(
      (h) =>
        h.score >= minScore &&
        (!mentions || mentionsAny(h.text, mentions)) &&
        (!signatures || !definesOtherSignature(h.text, signatures)),
    )
    .sort((a, b) => b.score - a.score)
    .slice(0, topK);
  const { context, tokens } = formatContext(hits, input.tokenBudget ?? 1_500);
  return { hits, context, contextTokens: tokens };
}

/** Whether `text` uses one of `names` as a whole identifier: `fib` in `fib(10)`, not in `fib4(10)`. */
export function mentionsAny(text: string, names: string[]): boolean {
  return names.some((name) => new RegExp(`(?<![\\w$])${name.replace(/\$/g, '\\$')}(?![\\w$])`).test(text));
}

function toSearchHit(collection: MemoryCollection, hit: MemoryHit): MemorySearchHit {
  const p = hit.payload;
  return {
    id: hit.id,
    collection,
    score: Math.round(hit.score * 1e4) / 1e4,
    text: hit.text,
    project: p.project,
    language: p.language,
    tags: p.tags,
    survived: p.survived,
    path: p.path,
    symbol: p.symbol,
    startLine: p.startLine,
    endLine: p.endLine,
  };
}

/** The hits as prompt sections, whole while they fit; the first one is cut rather than dropped. */
export function formatContext(hits: MemorySearchHit[], tokenBudget: number): { context: string; tokens: number } {
  const budget = tokenBudget * CHARS_PER_TOKEN;
  const sections: string[] = [];
  let used = 0;
  for (const hit of hits) {
    const where = hit.path ? `${hit.path}${hit.symbol ? ` (${hit.symbol})` : ''}` : hit.project;
    const outcome = hit.survived === undefined ? '' : hit.survived ? ', verified' : ', did not survive';
    const header = `### ${hit.collection}: ${where} [score ${hit.score.toFixed(2)}${outcome}]\n\`\`\`${hit.language ?? ''}\n`;
    const footer = '\n```\n';
    const room = budget - used - header.length - footer.length;
    if (room <= 0) break;
    if (hit.text.length > room) {
      if (sections.length > 0) break;
      sections.push(`${header}${hit.text.slice(0, room - 4)}\n...${footer}`);
      used = budget;
      break;
    }
    const section = header + hit.text + footer;
    sections.push(section);
    used += section.length;
  }
  const context = sections.join('\n');
  return { context, tokens: Math.ceil(context.length / CHARS_PER_TOKEN) };
}

function stateFile(): RepositoryStateFile {
  return new RepositoryStateFile(path.join(config().dataDir, 'memory', 'repositories'));
}

interface IndexPlan {
  repoPath: string;
  project: string;
  changed: RepositoryFile[];
  removed: string[];
}

/**
 * Scans a repository and compares its files' content hashes with the last index of the project:
 * the changed and new files, and the removed ones, go into a plan in the artifact store. Skips
 * vendored, generated, binary and non-source files. Side-effect free apart from the plan artifact,
 * so idempotent. startToCloseTimeout ~5 min. Failures: `RepositoryInvalid` (no such directory).
 */
export async function planRepositoryIndex(input: PlanRepositoryIndexInput): Promise<PlanRepositoryIndexResult> {
  const repoPath = path.resolve(input.repoPath);
  const scan = await scanRepository(repoPath);
  const state = await stateFile().read(input.project, input.tenant);
  const current = new Set(scan.files.map((f) => f.path));
  const plan: IndexPlan = {
    repoPath,
    project: input.project,
    changed: scan.files.filter((f) => state.files[f.path]?.hash !== f.hash),
    removed: Object.keys(state.files).filter((p) => !current.has(p)),
  };
  const planRef = await artifactStore().putJson(plan);
  return {
    planRef,
    totalFiles: scan.files.length,
    changedFiles: plan.changed.length,
    removedFiles: plan.removed.length,
    skippedFiles: scan.skipped,
  };
}

/**
 * Indexes one batch of a plan's changed files: chunks each by function and class, embeds the chunks,
 * upserts them into the `code` (or `docs`, for Markdown) collection and deletes the file's chunks
 * that no longer exist. Heartbeats its file offset; a retry resumes after the last file it finished.
 * Idempotent: chunk ids derive from project + path + symbol + text. startToCloseTimeout ~10 min,
 * heartbeatTimeout ~30 s. Failures: `EmbedderMismatch` (non-retryable); I/O and store errors retried.
 */
export async function indexRepositoryFiles(input: IndexRepositoryFilesInput): Promise<IndexRepositoryFilesResult> {
  const plan = await artifactStore().getJson<IndexPlan>(input.planRef);
  const ctx = Context.current();
  const resumed = ctx.info.heartbeatDetails as { offset: number; chunks: number } | undefined;
  const end = Math.min(plan.changed.length, input.offset + input.limit);
  let offset = Math.max(input.offset, resumed?.offset ?? input.offset);
  let chunksIndexed = resumed?.chunks ?? 0;
  const states = stateFile();
  const state = await states.read(input.project, input.tenant);
  const tenant = tenantOf(input.tenant);

  for (; offset < end; offset++) {
    const file = plan.changed[offset]!;
    const content = await fs.readFile(path.join(plan.repoPath, file.path), 'utf8').catch(() => undefined);
    if (content !== undefined) chunksIndexed += await indexFile(tenant, input.project, file, content, state);
    ctx.heartbeat({ offset: offset + 1, chunks: chunksIndexed });
    // The state is saved in steps, so a crash costs at most a few files of re-embedding.
    if ((offset + 1) % 20 === 0) await states.write(state);
  }
  await states.write(state);
  return { filesIndexed: end - input.offset, chunksIndexed, nextOffset: end };
}

async function indexFile(
  tenant: string,
  project: string,
  file: RepositoryFile,
  content: string,
  state: Awaited<ReturnType<RepositoryStateFile['read']>>,
): Promise<number> {
  const language = languageOf(file.path);
  const collection: MemoryCollection = language === 'markdown' ? 'docs' : 'code';
  const chunks = chunkFile(file.path, content);
  const embedInputs = chunks.map((c) => `${file.path} ${c.symbol}\n${c.context ?? ''}\n${c.text}`);
  const vectors = await embedAll(embedInputs);
  const records = chunks.map((c, i): MemoryRecord => ({
    id: tenantMemoryId(tenant, 'repository', project, file.path, c.symbol, c.text),
    text: c.text,
    vector: vectors[i]!,
    payload: {
      project,
      collection,
      language,
      tags: ['repository', c.kind],
      path: file.path,
      symbol: c.symbol,
      startLine: c.startLine,
      endLine: c.endLine,
      fileHash: file.hash,
    },
    tenant,
  }));
  await upsertRecords(collection, records);
  const fresh = new Set(records.map((r) => r.id));
  const stale = (state.files[file.path]?.ids ?? []).filter((id) => !fresh.has(id));
  await deleteEverywhere(stale, tenant);
  state.files[file.path] = { hash: file.hash, ids: [...fresh] };
  return records.length;
}

async function deleteEverywhere(ids: string[], tenant: string): Promise<void> {
  if (ids.length === 0) return;
  // A file's chunks live in one collection, but which one depends on its type: deleting from both is cheap.
  for (const collection of ['code', 'docs'] as const) {
    if (await memoryStore().embedderOf(collection)) await memoryStore().delete(collection, ids, tenant);
  }
}

/**
 * Deletes the chunks of the files a plan found removed, and forgets them in the project's index state.
 * Idempotent. startToCloseTimeout ~2 min. Failures: store errors, retried.
 */
export async function finishRepositoryIndex(input: FinishRepositoryIndexInput): Promise<FinishRepositoryIndexResult> {
  const plan = await artifactStore().getJson<IndexPlan>(input.planRef);
  const states = stateFile();
  const state = await states.read(input.project, input.tenant);
  let removedChunks = 0;
  for (const removed of plan.removed) {
    const ids = state.files[removed]?.ids ?? [];
    await deleteEverywhere(ids, tenantOf(input.tenant));
    removedChunks += ids.length;
    delete state.files[removed];
  }
  await states.write(state);
  return { removedFiles: plan.removed.length, removedChunks };
}
