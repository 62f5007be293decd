import path from 'node:path';
import { config, type Config } from '../../common/config';
import { sharedState } from '../cache';
import { EmbeddedMemoryStore } from './embedded-store';
import { HashEmbedder, OpenAIEmbedder, type Embedder } from './embeddings';
import { QdrantMemoryStore } from './qdrant-store';
import type { MemoryStore } from './store';

export * from './store';
export * from './embeddings';
export { EmbeddedMemoryStore, type EmbeddedStoreOptions, type HnswParams } from './embedded-store';
export { QdrantMemoryStore, qdrantFilter, QDRANT_PAYLOAD_INDEXES, type QdrantStoreOptions } from './qdrant-store';

/** The store MEMORY_STORE selects: embedded under `$SOPHIA_DATA_DIR/memory`, or Qdrant at QDRANT_URL. */
export function createMemoryStore(cfg: Config): MemoryStore {
  if (cfg.MEMORY_STORE === 'qdrant') {
    if (!cfg.QDRANT_URL) throw new Error('MEMORY_STORE=qdrant needs QDRANT_URL (e.g. http://localhost:6333).');
    return new QdrantMemoryStore({
      url: cfg.QDRANT_URL,
      apiKey: cfg.QDRANT_API_KEY,
      collectionPrefix: cfg.TEMPORAL_TASK_QUEUE_PREFIX,
      breaker: sharedState().breaker('qdrant'),
    });
  }
  return new EmbeddedMemoryStore({ dir: path.join(cfg.dataDir, 'memory') });
}

/** The embedder EMBEDDINGS_PROVIDER selects: the offline hashed one, or an OpenAI-compatible endpoint. */
export function createEmbedder(cfg: Config): Embedder {
  if (cfg.EMBEDDINGS_PROVIDER === 'openai') {
    return new OpenAIEmbedder(cfg.EMBEDDINGS_MODEL, cfg.EMBEDDINGS_DIMENSION, {
      baseURL: cfg.OPENAI_BASE_URL,
      apiKey: cfg.OPENAI_API_KEY,
      timeoutMs: cfg.OPENAI_TIMEOUT_MS,
    });
  }
  return new HashEmbedder(cfg.EMBEDDINGS_DIMENSION);
}

let store: MemoryStore | undefined;
let embedder: Embedder | undefined;

/** The process's memory store, opened once. */
export function memoryStore(): MemoryStore {
  store ??= createMemoryStore(config());
  return store;
}

/** The process's embedder, built once. */
export function memoryEmbedder(): Embedder {
  embedder ??= createEmbedder(config());
  return embedder;
}

/** Closes the store (the embedded one saves its graphs). For worker shutdown and tests. */
export async function closeMemory(): Promise<void> {
  const current = store;
  store = undefined;
  embedder = undefined;
  await current?.close();
}
