import { LineCounter, parseAllDocuments } from 'yaml';
import type { FileMap } from '../../artifacts';
import type { Toolchains } from '../../sandbox/toolchains';
import type { Finding, Ruleset } from '../finding';
import { isBuiltInGroup, kubernetesSchemaDir, schemaFindings, schemaSet, validatorFor } from './schemas';
import { asObject, serviceFindings, workloadFindings, type Parsed } from './workload-rules';
import { finding, lineOf, TOOL, type DocContext } from './yaml-doc';

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

const YAML_FILE = /\.ya?ml$/i;

/** Folders whose YAML files are manifests even when a document is too broken to say so itself. */
const MANIFEST_DIR = /(^|\/)(k8s|kube|kubernetes|manifests|deploy|deployment|deployments)\//i;

/** A YAML file that looks like Kubernetes manifests: under a k8s-like folder, or with a document that has apiVersion and kind. */
export function isKubernetesManifest(file: string, content: string): boolean {
  if (!YAML_FILE.test(file)) return false;
  if (MANIFEST_DIR.test(file)) return true;
  return /^apiVersion\s*:/m.test(content) && /^kind\s*:/m.test(content);
}

export function kubernetesFiles(files: FileMap): FileMap {
  return Object.fromEntries(Object.entries(files).filter(([file, content]) => isKubernetesManifest(file, content)));
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
