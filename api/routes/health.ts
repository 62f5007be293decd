import { Router } from 'express';
import Redis from 'ioredis';
import { readCageReports } from '../../common/cage-report';
import { codeCommit } from '../../common/code-version';
import type { Config } from '../../common/config';
import { updateBacklogMetrics } from '../backlog';
import { register } from '../metrics';
import type { Authenticator } from '../auth';
import { configuredSecrets, redactDetails } from '../redact';
import type { TemporalGateway } from '../temporal-gateway';

export interface DependencyCheck {
  ok: boolean;
  /** A required dependency down makes the API not ready; an optional one only degrades it. */
  required: boolean;
  detail: string;
}

async function checkRedis(url: string): Promise<DependencyCheck> {
  const redis = new Redis(url, {
    lazyConnect: true,
    connectTimeout: 1_000,
    maxRetriesPerRequest: 0,
    enableOfflineQueue: false,
  });
  redis.on('error', () => undefined);
  try {
    await redis.connect();
    await redis.ping();
    return { ok: true, required: false, detail: 'ping ok' };
  } catch (err) {
    return {
      ok: false,
      required: false,
      detail: `down (${String(err)}); workers fall back to in-process cache and limiter`,
    };
  } finally {
    redis.disconnect();
  }
}

async function checkQdrant(url: string, apiKey?: string): Promise<DependencyCheck> {
  try {
    const res = await fetch(new URL('/readyz', url), {
      headers: apiKey ? { 'api-key': apiKey } : {},
      signal: AbortSignal.timeout(2_000),
    });
    return { ok: res.ok, required: true, detail: `HTTP ${res.status}` };
  } catch (err) {
    return { ok: false, required: true, detail: String(err) };
  }
}

/** The model the llm pool talks to, as this process's config names it. */
export function modelInfo(cfg: Config): { name: string; baseURL: string; local: boolean } | undefined {
  if (!cfg.OPENAI_BASE_URL && !cfg.OPENAI_API_KEY) return undefined;
  const baseURL = cfg.OPENAI_BASE_URL ?? 'https://api.openai.com/v1';
  return { name: cfg.OPENAI_MODEL, baseURL, local: /^https?:\/\/(127\.|localhost|\[::1\])/.test(baseURL) };
}

/** A model served on this machine answers its model list while it is up (it loads in a few seconds). */
async function checkLocalModel(baseURL: string, name: string): Promise<DependencyCheck> {
  try {
    const res = await fetch(`${baseURL.replace(/\/$/, '')}/models`, { signal: AbortSignal.timeout(2_000) });
    return { ok: res.ok, required: false, detail: `${name} (local) at ${baseURL}: HTTP ${res.status}` };
  } catch (err) {
    return { ok: false, required: false, detail: `${name} (local) at ${baseURL} does not answer: ${String(err)}` };
  }
}

/**
 * What the sandbox workers said holds around their runs (their start-up reports in the shared data
 * directory). A worker where only per-process limits hold, or without bwrap, degrades readiness.
 */
function sandboxCheck(dataDir: string): DependencyCheck {
  const reports = readCageReports(dataDir);
  if (reports.length === 0) {
    return { ok: true, required: false, detail: 'no sandbox worker has reported its cage yet' };
  }
  const incomplete = reports.filter((r) => r.missing.length > 0);
  const describe = (r: (typeof reports)[number]) =>
    `${r.host}: ${r.driver}${r.missing.length ? `; MISSING: ${r.missing.join('; ')}` : `; ${r.holds.join('; ')}`}`;
  return {
    ok: incomplete.length === 0,
    required: false,
    detail: (incomplete.length ? incomplete : reports.slice(0, 1)).map(describe).join(' | '),
  };
}

/** Every dependency this deployment is configured with, checked in parallel. */
export async function readiness(gateway: TemporalGateway, cfg: Config) {
  const checks: Record<string, Promise<DependencyCheck>> = {
    temporal: gateway.check().then((c) => ({ ...c, required: true })),
  };
  checks.redis = cfg.REDIS_URL
    ? checkRedis(cfg.REDIS_URL)
    : Promise.resolve({ ok: true, required: false, detail: 'not configured: in-process cache and rate limiter' });
  if (cfg.MEMORY_STORE === 'qdrant' && cfg.QDRANT_URL) checks.qdrant = checkQdrant(cfg.QDRANT_URL, cfg.QDRANT_API_KEY);
  const model = modelInfo(cfg);
  checks.model = !model
    ? Promise.resolve({
        ok: false,
        required: false,
        detail: 'not configured: set OPENAI_BASE_URL / OPENAI_API_KEY for the LLM workers (or SOPHIA_LOCAL_MODEL)',
      })
    : model.local
      ? checkLocalModel(model.baseURL, model.name)
      : Promise.resolve({ ok: true, required: false, detail: `${model.baseURL} model ${model.name}` });
  checks.sandbox = Promise.resolve(sandboxCheck(cfg.dataDir));
  const results = Object.fromEntries(
    await Promise.all(Object.entries(checks).map(async ([name, p]) => [name, await p] as const)),
  );
  const ready = Object.values(results).every((c) => c.ok || !c.required);
  const degraded = Object.values(results).some((c) => !c.ok && !c.required);
  const commit = codeCommit();
  return { ready, degraded, model, ...(commit ? { commit } : {}), checks: results };
}

export function healthRouter(deps: { gateway: TemporalGateway; cfg: Config; auth: Authenticator }): Router {
  const router = Router();
  const secrets = configuredSecrets(deps.cfg);
  const started = new Date().toISOString();
  codeCommit(); // read when the API starts: a later checkout is not the code it runs

  router.get('/health', (_req, res) => {
    res.json({ status: 'ok', startedAt: started, uptimeSeconds: Math.round(process.uptime()) });
  });

  /**
   * Public: ready or not, nothing else. With a valid key (any tenant's, or anyone on an API without
   * keys) also each dependency's check, with secrets and credentialed URLs redacted.
   */
  router.get('/ready', async (req, res) => {
    const [result, caller] = await Promise.all([
      readiness(deps.gateway, deps.cfg),
      deps.auth.identify(req.get('authorization')),
    ]);
    res.status(result.ready ? 200 : 503);
    if (!caller) {
      res.json({ status: result.ready ? 'ready' : 'unavailable' });
      return;
    }
    res.json(
      redactDetails(
        { status: result.ready ? (result.degraded ? 'degraded' : 'ready') : 'unavailable', ...result },
        secrets,
      ),
    );
  });

  router.get('/metrics', async (_req, res) => {
    await updateBacklogMetrics(deps.gateway, deps.cfg);
    res.set('content-type', register.contentType).send(await register.metrics());
  });

  return router;
}
