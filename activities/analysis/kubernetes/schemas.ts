import fs from 'node:fs';
import path from 'node:path';
import Ajv2020, { type ErrorObject, type ValidateFunction } from 'ajv/dist/2020';
import { toolchainMissing, type Toolchains } from '../../sandbox/toolchains';
import type { Finding } from '../finding';
import { dotted, finding, lineOf, pointerSegments, type DocContext } from './yaml-doc';

/**
 * Schema validation: the strict JSON schemas generated from the Kubernetes OpenAPI (the pinned PyPI
 * package kubernetes-validate), compiled by ajv once per kind, and ajv's errors as findings.
 */

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

export function schemaSet(dir: string): SchemaSet {
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
export function validatorFor(set: SchemaSet, apiVersion: string, kind: string): ValidateFunction | null {
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
export function isBuiltInGroup(apiVersion: string): boolean {
  if (!apiVersion.includes('/')) return true;
  const group = apiVersion.split('/')[0] ?? '';
  return !group.includes('.') || group.endsWith('.k8s.io');
}

/** ajv's errors for one document, without the noise of `oneOf`/`anyOf` branches when a plain error says it. */
export function schemaFindings(ctx: DocContext, errors: ErrorObject[]): Finding[] {
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
