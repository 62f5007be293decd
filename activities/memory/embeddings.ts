import { ApplicationFailure } from '@temporalio/common';
import OpenAI from 'openai';
import type { EmbedderSignature } from './store';

/** Turns texts into unit vectors of a fixed dimension. */
export interface Embedder extends EmbedderSignature {
  embed(texts: string[]): Promise<Float32Array[]>;
}

// Words that occur in nearly every chunk of code or prose carry no signal for retrieval.
const STOPWORDS = new Set(
  (
    'a an and are as at be by for from has have if in into is it its of on or that the this to was were will with ' +
    'const let var function return import export default new class extends implements public private protected ' +
    'readonly static async await def self none true false null undefined void type interface string number boolean ' +
    'any unknown then else elif pass lambda'
  ).split(' '),
);

/** Splits `ArtifactStore.putJson`, `get_files`, `HTTPServer2` into lower-case words. */
export function splitIdentifier(identifier: string): string[] {
  return identifier
    .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
    .replace(/([A-Z]+)([A-Z][a-z])/g, '$1 $2')
    .split(/[^A-Za-z0-9]+/)
    .map((w) => w.toLowerCase())
    .filter((w) => w.length > 1);
}

// Folding plurals and -ing/-ed lets "indexing files" meet `indexFile`; crude, but cheap and predictable.
function stem(word: string): string {
  if (word.length > 5 && word.endsWith('ing')) return word.slice(0, -3);
  if (word.length > 4 && word.endsWith('ed')) return word.slice(0, -2);
  if (word.length > 4 && word.endsWith('es') && !word.endsWith('ses')) return word.slice(0, -2);
  if (word.length > 3 && word.endsWith('s') && !word.endsWith('ss')) return word.slice(0, -1);
  return word;
}

/** The weighted features of a text: words of split identifiers, whole identifiers, and word bigrams. */
export function codeFeatures(text: string): Map<string, number> {
  const features = new Map<string, number>();
  const add = (feature: string, weight: number): void => {
    features.set(feature, (features.get(feature) ?? 0) + weight);
  };
  for (const identifier of text.match(/[A-Za-z_][A-Za-z0-9_]*/g) ?? []) {
    const words = splitIdentifier(identifier)
      .filter((w) => !STOPWORDS.has(w))
      .map(stem);
    if (words.length === 0) continue;
    for (const word of words) add(`w:${word}`, 1);
    if (words.length > 1) {
      add(`i:${words.join('_')}`, 0.5);
      for (let i = 1; i < words.length; i++) add(`b:${words[i - 1]}_${words[i]}`, 0.5);
    }
  }
  return features;
}

/** FNV-1a, 32 bits: fast, stable across processes and versions (the embedder's name pins it). */
function fnv1a(text: string, seed = 0x811c9dc5): number {
  let hash = seed;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}

const TITLE_WEIGHT = 3;

/**
 * The offline default: hashed, code-aware token features (the hashing trick with a sign bit), with
 * sub-linear term weights, L2-normalised. No model, no network, deterministic, so memory works out of
 * the box; a real embedding model ranks prose better.
 */
export class HashEmbedder implements Embedder {
  readonly name = 'hash-code-v2';

  constructor(readonly dimension: number) {}

  embed(texts: string[]): Promise<Float32Array[]> {
    return Promise.resolve(texts.map((t) => this.embedOne(t)));
  }

  embedOne(text: string): Float32Array {
    const vector = new Float32Array(this.dimension);
    const newline = text.indexOf('\n');
    // The first line names what follows (the indexer writes `path symbol` there): without corpus
    // statistics to down-weight common words, weighting the name is what lets `put` beat `putJson`.
    const title = newline >= 0 ? codeFeatures(text.slice(0, newline)) : new Map<string, number>();
    const body = codeFeatures(newline >= 0 ? text.slice(newline + 1) : text);
    if (title.size === 0) {
      for (const [feature, count] of body) this.add(vector, feature, 1 + Math.log(count));
      return normalize(vector);
    }
    // Title and body are normalised apart, so a long body does not drown the name it sits under.
    const titleVector = new Float32Array(this.dimension);
    for (const [feature, count] of title) this.add(titleVector, feature, 1 + Math.log(count));
    for (const [feature, count] of body) this.add(vector, feature, 1 + Math.log(count));
    normalize(titleVector);
    normalize(vector);
    for (let i = 0; i < vector.length; i++) vector[i] = TITLE_WEIGHT * titleVector[i]! + vector[i]!;
    return normalize(vector);
  }

  private add(vector: Float32Array, feature: string, weight: number): void {
    const sign = fnv1a(feature, 0x9747b28c) & 1 ? 1 : -1;
    vector[fnv1a(feature) % this.dimension]! += sign * weight;
  }
}

export function normalize(vector: Float32Array): Float32Array {
  let norm = 0;
  for (const x of vector) norm += x * x;
  norm = Math.sqrt(norm);
  if (norm > 0) for (let i = 0; i < vector.length; i++) vector[i]! /= norm;
  return vector;
}

/**
 * Embeddings from an OpenAI-compatible `/embeddings` endpoint. The dimension is requested from the
 * model and checked on every answer: a model that ignores it would fill the store with garbage.
 */
export class OpenAIEmbedder implements Embedder {
  readonly name: string;
  private readonly client: OpenAI;

  constructor(
    readonly model: string,
    readonly dimension: number,
    options: { baseURL?: string; apiKey?: string; timeoutMs?: number },
  ) {
    this.name = `openai:${model}`;
    this.client = new OpenAI({
      baseURL: options.baseURL,
      // Local OpenAI-compatible servers often need no key, but the SDK insists on one.
      apiKey: options.apiKey ?? 'unused',
      timeout: options.timeoutMs ?? 60_000,
      // Temporal retries the activity with backoff; retrying inside too would multiply the attempts.
      maxRetries: 0,
    });
  }

  async embed(texts: string[]): Promise<Float32Array[]> {
    if (texts.length === 0) return [];
    let response: OpenAI.Embeddings.CreateEmbeddingResponse;
    try {
      response = await this.client.embeddings.create({
        model: this.model,
        input: texts,
        dimensions: this.dimension,
        encoding_format: 'float',
      });
    } catch (err) {
      throw embeddingFailure(err);
    }
    const ordered = [...response.data].sort((a, b) => a.index - b.index);
    return ordered.map((d) => {
      if (d.embedding.length !== this.dimension) {
        throw ApplicationFailure.create({
          type: 'EmbedderMismatch',
          nonRetryable: true,
          message: `Embedding model ${this.model} returned ${d.embedding.length} dimensions, but EMBEDDINGS_DIMENSION is ${this.dimension}.`,
        });
      }
      return normalize(Float32Array.from(d.embedding));
    });
  }
}

function embeddingFailure(err: unknown): Error {
  if (err instanceof OpenAI.APIError) {
    const status = err.status ?? 0;
    if (status === 401 || status === 403) {
      return ApplicationFailure.create({
        type: 'ModelAuth',
        nonRetryable: true,
        message: `Embeddings: ${err.message}`,
      });
    }
    if (status === 400 || status === 404 || status === 422) {
      return ApplicationFailure.create({
        type: 'ModelRequestInvalid',
        nonRetryable: true,
        message: `Embeddings: ${err.message}`,
      });
    }
    if (status === 429)
      return ApplicationFailure.create({ type: 'ModelRateLimited', message: `Embeddings: ${err.message}` });
  }
  return ApplicationFailure.create({ type: 'ModelUnavailable', message: `Embeddings: ${(err as Error).message}` });
}
