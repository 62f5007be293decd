import Ajv2020 from 'ajv/dist/2020';
import type { Response } from 'supertest';
import { openApiDocument } from '../../api/openapi';

type Operation = { responses?: Record<string, { content?: Record<string, { schema?: unknown }> }> };

const ajv = new Ajv2020({ strict: false, allErrors: true });
const compiled = new Map<string, ReturnType<typeof ajv.compile>>();

/**
 * Checks a real answer against the served OpenAPI description: its status must be one the operation
 * documents (or its `default`), and its JSON body must match that response's schema. Throws an error
 * that names the operation, the status and each mismatch.
 */
export function expectDocumented(res: Response, method: string, pathTemplate: string): void {
  const doc = openApiDocument() as unknown as {
    paths: Record<string, Record<string, Operation>>;
    components: unknown;
  };
  const where = `${method.toUpperCase()} ${pathTemplate} → ${res.status}`;
  const operation = doc.paths[pathTemplate]?.[method.toLowerCase()];
  if (!operation) throw new Error(`${method.toUpperCase()} ${pathTemplate} is not in the description`);
  const status = String(res.status);
  const response = operation.responses?.[status] ?? operation.responses?.default;
  if (!response) throw new Error(`${where}: status not documented (${Object.keys(operation.responses ?? {})})`);
  const schema = response.content?.['application/json']?.schema;
  if (!schema) {
    if (res.type === 'application/json' && res.text) throw new Error(`${where}: a JSON body the description omits`);
    return;
  }
  const key = `${method} ${pathTemplate} ${status}`;
  let validate = compiled.get(key);
  if (!validate) {
    // The response schema as the root, with the components beside it so `#/components/...` resolves.
    validate = ajv.compile({ ...(schema as object), components: doc.components });
    compiled.set(key, validate);
  }
  if (!validate(res.body)) {
    const problems = (validate.errors ?? []).map(
      (e) => `${e.instancePath || '(body)'} ${e.message} ${JSON.stringify(e.params)}`,
    );
    throw new Error(
      `${where}: the body does not match the description:\n  ${problems.join('\n  ')}\nbody: ${res.text.slice(0, 1_000)}`,
    );
  }
}
