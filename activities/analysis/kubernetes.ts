import fs from 'node:fs';
import path from 'node:path';
import Ajv2020, { type ErrorObject, type ValidateFunction } from 'ajv/dist/2020';
import { isMap, isScalar, isSeq, LineCounter, parseAllDocuments, type Document, type ParsedNode } from 'yaml';
import type { FileMap } from '../artifacts';
import { toolchainMissing, type Toolchains } from '../sandbox/toolchains';
import type { Finding, Ruleset, Severity } from './finding';

/**
 * Kubernetes manifests, checked the way the API server would check them, plus what the deploy prompt
 * asks for. Every YAML document is validated against the strict JSON schemas generated from the
 * Kubernetes OpenAPI (shipped by the pinned PyPI package kubernetes-validate: strict means an unknown
 * field is an error, as with `kubectl apply --validate=strict`), with ajv, in process: nothing is
 * executed, and the finding's line is the YAML node's own line.
 *
 * Severities:
 * - error: what the API server rejects (YAML syntax, unknown kind or field, wrong type, missing
 *   required field, a container without an image, a selector that does not match the pod labels);
 * - warning, or error under the `deploy` ruleset: what the deploy prompt asks for (resource requests
 *   and limits, liveness and readiness probes on long-running workloads);
 * - warning: an unpinned image (no tag, or `latest`), a Service selecting no pod of the file set;
 * - info: a kind with no built-in schema (a CRD such as a ServiceMonitor), a Helm template.
 */

/** Aliases a document may expand: plenty for anchors in real manifests, far below a bomb. */
const MAX_YAML_ALIASES = 100;
const TOOL = 'kubernetes';

const YAML_FILE = /\.ya?ml$/i;
/** Folders whose YAML files are manifests even when a document is too broken to say so itself. */
const MANIFEST_DIR = /(^|\/)(k8s|kube|kubernetes|manifests|deploy|deployment|deployments)\//i;
/** Workloads whose pods run for good: they need probes. Jobs and CronJobs finish, so they do not. */
const LONG_RUNNING = new Set(['Deployment', 'StatefulSet', 'DaemonSet', 'ReplicaSet', 'ReplicationController']);
/** Kinds whose selector must select their own pod template. */
const SELECTING = new Set(['Deployment', 'StatefulSet', 'DaemonSet', 'ReplicaSet']);

/** A YAML file that looks like Kubernetes manifests: under a k8s-like folder, or with a document that has apiVersion and kind. */
export function isKubernetesManifest(file: string, content: string): boolean {
  if (!YAML_FILE.test(file)) return false;
  if (MANIFEST_DIR.test(file)) return true;
  return /^apiVersion\s*:/m.test(content) && /^kind\s*:/m.test(content);
}

export function kubernetesFiles(files: FileMap): FileMap {
  return Object.fromEntries(Object.entries(files).filter(([file, content]) => isKubernetesManifest(file, content)));
}

// --- schemas

interface SchemaSet {
  dir: string;
  ajv: Ajv2020;
  compiled: Map<string, ValidateFunction | null>;
}

const schemaSets = new Map<string, SchemaSet>();

/** The schema folder of one Kubernetes version, or a ToolchainMissing failure naming the versions there are. */
export function kubernetesSchemaDir(tc: Pick<Toolchains, 'kubernetesSchemas'>, version: string): string {
  const fix = 'Run `node scripts/bootstrap.mjs tools` to install the pinned kubernetes-validate into .tools/pip.';
  if (!tc.kubernetesSchemas) throw toolchainMissing('The Kubernetes JSON schemas (kubernetes-validate)', fix);
  const dir = path.join(tc.kubernetesSchemas, `v${version}-local-strict`);
  if (!fs.existsSync(path.join(dir, '_definitions.json'))) {
    const versions = fs
      .readdirSync(tc.kubernetesSchemas)
      .filter((d) => d.endsWith('-local-strict'))
      .map((d) => d.slice(1, -'.0-local-strict'.length))
      .sort((a, b) => Number(a.split('.')[1]) - Number(b.split('.')[1]));
    throw toolchainMissing(
      `The Kubernetes ${version} JSON schemas`,
      `Set ANALYSIS_KUBERNETES_VERSION to one of ${versions.join(', ')}.`,
    );
  }
  return dir;
}

/** k8s formats that matter for validity; the rest (byte, date-time, double) are accepted as strings or numbers. */
const FORMATS = {
  int32: { type: 'number' as const, validate: (n: number) => Number.isInteger(n) && n >= -(2 ** 31) && n < 2 ** 31 },
  int64: { type: 'number' as const, validate: (n: number) => Number.isSafeInteger(n) },
  double: true as const,
  byte: true as const,
  'date-time': true as const,
};

function schemaSet(dir: string): SchemaSet {
  let set = schemaSets.get(dir);
  if (!set) {
    // strict: false because the schemas carry the OpenAPI's x-kubernetes-* annotations as keywords.
    const ajv = new Ajv2020({ strict: false, allErrors: true, formats: FORMATS });
    ajv.addSchema(JSON.parse(fs.readFileSync(path.join(dir, '_definitions.json'), 'utf8')) as object);
    set = { dir, ajv, compiled: new Map() };
    schemaSets.set(dir, set);
  }
  return set;
}

/** `apps/v1` + `Deployment` → `deployment-apps-v1.json`; `v1` + `Service` → `service-v1.json` (kubeconform's naming). */
function schemaFile(apiVersion: string, kind: string): string {
  const [groupOrVersion, version] = apiVersion.split('/');
  const parts = version === undefined ? [kind, groupOrVersion] : [kind, groupOrVersion?.split('.')[0], version];
  return `${parts.join('-').toLowerCase()}.json`;
}

/** The compiled validator for a kind, or null when there is no schema for it (unknown kind or a CRD). */
function validatorFor(set: SchemaSet, apiVersion: string, kind: string): ValidateFunction | null {
  const file = schemaFile(apiVersion, kind);
  let validate = set.compiled.get(file);
  if (validate === undefined) {
    const full = path.join(set.dir, file);
    validate = fs.existsSync(full) ? set.ajv.compile(JSON.parse(fs.readFileSync(full, 'utf8')) as object) : null;
    set.compiled.set(file, validate);
  }
  return validate;
}

/** A built-in API group (core, apps, batch, *.k8s.io…): an unknown kind there is a mistake, not a CRD. */
function isBuiltInGroup(apiVersion: string): boolean {
  if (!apiVersion.includes('/')) return true;
  const group = apiVersion.split('/')[0] ?? '';
  return !group.includes('.') || group.endsWith('.k8s.io');
}

// --- YAML positions

type Segment = string | number;

/** The node at a path, and the key node of its last map entry (for "unknown field" findings). */
function locate(doc: Document.Parsed, segments: Segment[]): { node?: ParsedNode; key?: ParsedNode } {
  let node: ParsedNode | null | undefined = doc.contents;
  let key: ParsedNode | undefined;
  for (const segment of segments) {
    if (isMap(node)) {
      const pair = node.items.find((p) => isScalar(p.key) && String(p.key.value) === String(segment));
      if (!pair) return { node: node as ParsedNode };
      key = pair.key as ParsedNode;
      node = pair.value as ParsedNode | null;
      if (!node) return { node: key, key };
    } else if (isSeq(node) && typeof segment === 'number') {
      const item = node.items[segment] as ParsedNode | undefined;
      if (!item) return { node: node as ParsedNode };
      key = undefined;
      node = item;
    } else {
      break;
    }
  }
  return { node: node ?? undefined, key };
}

function pointerSegments(pointer: string): Segment[] {
  if (!pointer) return [];
  return pointer
    .split('/')
    .slice(1)
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'))
    .map((s) => (/^(0|[1-9][0-9]*)$/.test(s) ? Number(s) : s));
}

function dotted(segments: Segment[]): string {
  return segments.reduce<string>((acc, s) => (typeof s === 'number' ? `${acc}[${s}]` : acc ? `${acc}.${s}` : s), '');
}

// --- checks

interface DocContext {
  file: string;
  doc: Document.Parsed;
  lines: LineCounter;
  /** `Deployment/web` for messages. */
  name: string;
}

function lineOf(ctx: DocContext, segments: Segment[], preferKey = false): number {
  const { node, key } = locate(ctx.doc, segments);
  const target = preferKey && key ? key : (node ?? ctx.doc.contents);
  const offset = target?.range?.[0] ?? ctx.doc.range[0];
  return ctx.lines.linePos(offset).line;
}

function finding(
  ctx: DocContext,
  rule: string,
  severity: Severity,
  line: number,
  message: string,
  suggestion?: string,
): Finding {
  return { tool: TOOL, rule, severity, file: ctx.file, line, message, ...(suggestion ? { suggestion } : {}) };
}

/** ajv's errors for one document, without the noise of `oneOf`/`anyOf` branches when a plain error says it. */
function schemaFindings(ctx: DocContext, errors: ErrorObject[]): Finding[] {
  const out: Finding[] = [];
  for (const err of errors) {
    const at = pointerSegments(err.instancePath);
    const where = dotted(at) || 'the document';
    switch (err.keyword) {
      case 'additionalProperties': {
        const field = String((err.params as { additionalProperty: string }).additionalProperty);
        out.push(
          finding(
            ctx,
            'schema/unknown-field',
            'error',
            lineOf(ctx, [...at, field], true),
            `${ctx.name}: unknown field "${dotted([...at, field])}"`,
          ),
        );
        break;
      }
      case 'required': {
        const field = String((err.params as { missingProperty: string }).missingProperty);
        out.push(
          finding(
            ctx,
            'schema/required',
            'error',
            lineOf(ctx, at, true),
            `${ctx.name}: missing required field "${dotted([...at, field])}"`,
          ),
        );
        break;
      }
      case 'type': {
        const want = ([] as string[])
          .concat((err.params as { type: string | string[] }).type)
          .filter((t) => t !== 'null');
        out.push(
          finding(ctx, 'schema/type', 'error', lineOf(ctx, at), `${ctx.name}: "${where}" must be ${want.join(' or ')}`),
        );
        break;
      }
      case 'enum': {
        const allowed = (err.params as { allowedValues: unknown[] }).allowedValues.filter((v) => v !== null);
        out.push(
          finding(
            ctx,
            'schema/enum',
            'error',
            lineOf(ctx, at),
            `${ctx.name}: "${where}" must be one of ${allowed.map((v) => JSON.stringify(v)).join(', ')}`,
          ),
        );
        break;
      }
      // A oneOf/anyOf failure comes with its branches' own errors, which say more.
      case 'oneOf':
      case 'anyOf':
        break;
      default:
        out.push(
          finding(
            ctx,
            `schema/${err.keyword}`,
            'error',
            lineOf(ctx, at),
            `${ctx.name}: "${where}" ${err.message ?? 'is invalid'}`,
          ),
        );
    }
  }
  return out;
}

type Json = Record<string, unknown>;

const asObject = (v: unknown): Json | undefined =>
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

function workloadFindings(ctx: DocContext, obj: Json, kind: string, ruleset: Ruleset): Finding[] {
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

interface Parsed {
  ctx: DocContext;
  obj: Json;
  kind: string;
}

/** Services whose selector matches no pod template of the file set: traffic would go nowhere. */
function serviceFindings(parsed: Parsed[]): Finding[] {
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

export interface KubernetesCheckOptions {
  ruleset: Ruleset;
  /** `1.34.0`; its schemas must be in `tc.kubernetesSchemas`. */
  version: string;
}

/**
 * A Helm template's action where YAML expects a node: a line or a plain value that starts with `{{`.
 * Braces inside a quoted or mid-string value (a PrometheusRule's `{{ $labels.pool }}`, a Grafana
 * dashboard's `{{pool}}` legend) are a rendered manifest's data, not a template.
 */
const HELM_ACTION = /^\s*(?:-\s+)?(?:[^\s'"#][^:'"]*:\s+)?\{\{/m;

/**
 * Validates every YAML document of the manifest files. Pure and in-process: the YAML is parsed, never
 * applied or executed. Throws ToolchainMissing when the schemas are not installed.
 */
export function checkKubernetesManifests(
  files: FileMap,
  tc: Pick<Toolchains, 'kubernetesSchemas'>,
  options: KubernetesCheckOptions,
): Finding[] {
  const set = schemaSet(kubernetesSchemaDir(tc, options.version));
  const findings: Finding[] = [];
  const parsed: Parsed[] = [];
  for (const [file, content] of Object.entries(files)) {
    if (HELM_ACTION.test(content)) {
      findings.push({
        tool: TOOL,
        rule: 'helm-template',
        severity: 'info',
        file,
        line: 0,
        message: 'Helm template: not validated as is; validate the output of `helm template`.',
      });
      continue;
    }
    const lines = new LineCounter();
    const docs = parseAllDocuments(content, { lineCounter: lines, uniqueKeys: true, prettyErrors: false });
    if (!Array.isArray(docs)) continue; // an empty stream
    for (const doc of docs) {
      const [err] = doc.errors;
      if (err) {
        // Only the first: the parser's later errors in the same document usually follow from it.
        findings.push({
          tool: TOOL,
          rule: 'yaml-syntax',
          severity: 'error',
          file,
          line: lines.linePos(err.pos[0]).line,
          message: err.message.split('\n')[0] ?? err.message,
        });
        continue;
      }
      let value: unknown;
      try {
        // An alias bomb (aliases of aliases, billions of nodes) stops here, as a finding, not a crash.
        value = doc.toJS({ maxAliasCount: MAX_YAML_ALIASES });
      } catch (err) {
        findings.push({
          tool: TOOL,
          rule: 'yaml-aliases',
          severity: 'error',
          file,
          line: lines.linePos(doc.contents?.range?.[0] ?? 0).line,
          message: `The document expands too many YAML aliases (${err instanceof Error ? err.message.split('\n')[0] : 'limit'}); a manifest needs few or none.`,
        });
        continue;
      }
      if (value === null || value === undefined) continue; // an empty document (`---` at the end)
      const startLine = lines.linePos(doc.contents?.range?.[0] ?? 0).line;
      const obj = asObject(value);
      const baseCtx: DocContext = { file, doc, lines, name: 'document' };
      if (!obj) {
        findings.push(
          finding(
            baseCtx,
            'manifest-shape',
            'error',
            startLine,
            'A Kubernetes manifest must be a mapping with apiVersion and kind.',
          ),
        );
        continue;
      }
      const { apiVersion, kind } = obj;
      if (typeof apiVersion !== 'string' || typeof kind !== 'string') {
        findings.push(
          finding(
            baseCtx,
            'manifest-shape',
            'error',
            startLine,
            `The document has no ${typeof apiVersion !== 'string' ? 'apiVersion' : 'kind'} (a string).`,
          ),
        );
        continue;
      }
      const name = asObject(obj.metadata)?.name;
      const ctx: DocContext = { ...baseCtx, name: `${kind}/${typeof name === 'string' ? name : '?'}` };
      const validate = validatorFor(set, apiVersion, kind);
      if (!validate) {
        findings.push(
          isBuiltInGroup(apiVersion)
            ? finding(
                ctx,
                'unknown-kind',
                'error',
                lineOf(ctx, ['kind']),
                `${apiVersion} ${kind} is not a kind of Kubernetes ${options.version}`,
                'Check apiVersion and kind (e.g. apps/v1 Deployment, v1 Service).',
              )
            : finding(
                ctx,
                'no-schema',
                'info',
                lineOf(ctx, ['kind']),
                `${apiVersion} ${kind} is a custom resource: no schema to validate it against`,
              ),
        );
        continue;
      }
      if (!validate(value)) findings.push(...schemaFindings(ctx, validate.errors ?? []));
      findings.push(...workloadFindings(ctx, obj, kind, options.ruleset));
      parsed.push({ ctx, obj, kind });
    }
  }
  findings.push(...serviceFindings(parsed));
  return findings;
}
