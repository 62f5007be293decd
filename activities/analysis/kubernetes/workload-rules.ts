import type { Finding, Ruleset, Severity } from '../finding';
import { finding, lineOf, type DocContext, type Segment } from './yaml-doc';

/** Workload rules: what the deploy prompt asks of pods (images, resources, probes) and of Services. */

/** Workloads whose pods run for good: they need probes. Jobs and CronJobs finish, so they do not. */
const LONG_RUNNING = new Set(['Deployment', 'StatefulSet', 'DaemonSet', 'ReplicaSet', 'ReplicationController']);

/** Kinds whose selector must select their own pod template. */
const SELECTING = new Set(['Deployment', 'StatefulSet', 'DaemonSet', 'ReplicaSet']);

export type Json = Record<string, unknown>;

export const asObject = (v: unknown): Json | undefined =>
  v && typeof v === 'object' && !Array.isArray(v) ? (v as Json) : undefined;

const asArray = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);

/** Where a workload keeps its pod template, as a path from the document root. */
function podTemplatePath(kind: string): Segment[] | undefined {
  if (kind === 'Pod') return [];
  if (kind === 'CronJob') return ['spec', 'jobTemplate', 'spec', 'template'];
  if (SELECTING.has(kind) || kind === 'Job' || kind === 'ReplicationController') return ['spec', 'template'];
  return undefined;
}

function getPath(root: unknown, segments: Segment[]): unknown {
  return segments.reduce<unknown>(
    (acc, s) => (acc && typeof acc === 'object' ? (acc as Record<string, unknown>)[s] : undefined),
    root,
  );
}

export function workloadFindings(ctx: DocContext, obj: Json, kind: string, ruleset: Ruleset): Finding[] {
  const template = podTemplatePath(kind);
  if (!template) return [];
  const out: Finding[] = [];
  const podSpecPath = kind === 'Pod' ? ['spec'] : [...template, 'spec'];
  const podSpec = asObject(getPath(obj, podSpecPath));
  const promptSeverity: Severity = ruleset === 'deploy' ? 'error' : 'warning';
  for (const group of ['initContainers', 'containers'] as const) {
    asArray(podSpec?.[group]).forEach((raw, i) => {
      const c = asObject(raw);
      if (!c) return;
      const at: Segment[] = [...podSpecPath, group, i];
      const label = `${ctx.name} container "${typeof c.name === 'string' ? c.name : i}"`;
      const image = c.image;
      if (typeof image !== 'string' || image.trim() === '') {
        // Optional in the OpenAPI (controllers may default it) but the API server rejects a pod without one.
        out.push(
          finding(
            ctx,
            'container-image',
            'error',
            lineOf(ctx, at),
            `${label} has no image`,
            'Set `image` to a pinned tag or digest.',
          ),
        );
      } else if (!image.includes('@') && (!/:[^/]+$/.test(image) || image.endsWith(':latest'))) {
        out.push(
          finding(
            ctx,
            'image-tag',
            'warning',
            lineOf(ctx, [...at, 'image']),
            `${label} image "${image}" is not pinned`,
            'Use an explicit version tag or a digest, not latest.',
          ),
        );
      }
      const resources = asObject(c.resources);
      for (const part of ['requests', 'limits'] as const) {
        const values = asObject(resources?.[part]);
        const missing = ['cpu', 'memory'].filter((r) => values?.[r] === undefined);
        if (missing.length) {
          out.push(
            finding(
              ctx,
              `resource-${part}`,
              promptSeverity,
              lineOf(ctx, resources ? [...at, 'resources'] : at),
              `${label} has no ${missing.join(' or ')} ${part}`,
              `Set resources.${part}.${missing.join(' and ')}.`,
            ),
          );
        }
      }
      if (group === 'containers' && LONG_RUNNING.has(kind)) {
        for (const probe of ['readinessProbe', 'livenessProbe'] as const) {
          if (c[probe] === undefined) {
            out.push(
              finding(
                ctx,
                'probes',
                promptSeverity,
                lineOf(ctx, at),
                `${label} has no ${probe}`,
                `Add a ${probe} (httpGet, tcpSocket, exec or grpc).`,
              ),
            );
          }
        }
      }
    });
  }
  if (SELECTING.has(kind)) {
    const selector = asObject(asObject(getPath(obj, ['spec', 'selector']))?.matchLabels);
    const labels = asObject(asObject(getPath(obj, [...template, 'metadata']))?.labels) ?? {};
    const mismatched = Object.entries(selector ?? {}).filter(([k, v]) => labels[k] !== v);
    if (selector && mismatched.length) {
      out.push(
        finding(
          ctx,
          'selector-match',
          'error',
          lineOf(ctx, ['spec', 'selector', 'matchLabels']),
          `${ctx.name}: selector ${mismatched.map(([k, v]) => `${k}=${String(v)}`).join(', ')} does not match the pod template's labels`,
          'Make spec.selector.matchLabels a subset of spec.template.metadata.labels.',
        ),
      );
    }
  }
  return out;
}

export interface Parsed {
  ctx: DocContext;
  obj: Json;
  kind: string;
}

/** Services whose selector matches no pod template of the file set: traffic would go nowhere. */
export function serviceFindings(parsed: Parsed[]): Finding[] {
  const podLabels = parsed
    .map(({ obj, kind }) => {
      const template = podTemplatePath(kind);
      return template ? asObject(asObject(getPath(obj, [...template, 'metadata']))?.labels) : undefined;
    })
    .filter((l): l is Json => l !== undefined);
  if (podLabels.length === 0) return [];
  const out: Finding[] = [];
  for (const { ctx, obj, kind } of parsed) {
    if (kind !== 'Service') continue;
    const selector = asObject(asObject(obj.spec)?.selector);
    if (!selector || Object.keys(selector).length === 0) continue;
    const matches = podLabels.some((labels) => Object.entries(selector).every(([k, v]) => labels[k] === v));
    if (!matches) {
      out.push(
        finding(
          ctx,
          'service-selector',
          'warning',
          lineOf(ctx, ['spec', 'selector']),
          `${ctx.name}: selector matches no pod template in these manifests`,
        ),
      );
    }
  }
  return out;
}
