import { Router } from 'express';
import { openApiDocument } from '../openapi';

type Doc = ReturnType<typeof openApiDocument>;
type Json = Record<string, unknown>;

const escape = (text: string) =>
  text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

/** `{"$ref": "#/components/schemas/X"}` → a link to X; anything else as indented JSON. */
function schemaHtml(schema: unknown): string {
  const ref = (schema as { $ref?: string } | undefined)?.$ref;
  if (ref) {
    const name = ref.split('/').pop()!;
    return `<a href="#schema-${escape(name)}"><code>${escape(name)}</code></a>`;
  }
  if (schema === undefined) return '';
  return `<pre>${escape(JSON.stringify(schema, null, 2))}</pre>`;
}

function contentHtml(content: unknown): string {
  return Object.entries((content ?? {}) as Record<string, { schema?: unknown }>)
    .map(
      ([type, media]) =>
        `<div class="media"><span class="type">${escape(type)}</span> ${schemaHtml(media.schema)}</div>`,
    )
    .join('');
}

function operationHtml(path: string, method: string, op: Json): string {
  const id = `${method}-${path}`.replace(/[^\w-]/g, '-');
  const params = ((op.parameters ?? []) as Json[])
    .map(
      (p) =>
        `<li><code>${escape(String(p.name))}</code> <em>${escape(String(p.in))}</em>${p.required ? ' (required)' : ''}` +
        `${(p.schema as Json | undefined)?.description ? ` — ${escape(String((p.schema as Json).description))}` : ''}</li>`,
    )
    .join('');
  const requestBody = (op.requestBody as Json | undefined)?.content;
  const responses = Object.entries((op.responses ?? {}) as Record<string, Json>)
    .map(
      ([status, response]) =>
        `<tr><td class="status s${escape(status[0] ?? '')}">${escape(status)}</td><td>${escape(String(response.description ?? ''))}${contentHtml(response.content)}</td></tr>`,
    )
    .join('');
  const secured = Array.isArray(op.security) && op.security.length > 0;
  return `<section class="op" id="${escape(id)}">
<h3><span class="method ${escape(method)}">${escape(method.toUpperCase())}</span> <code>${escape(path)}</code>${secured ? ' <span class="lock" title="Authorization: Bearer">key</span>' : ''}</h3>
<p>${escape(String(op.summary ?? ''))}</p>${op.description ? `<p class="desc">${escape(String(op.description))}</p>` : ''}
${params ? `<h4>Parameters</h4><ul>${params}</ul>` : ''}
${requestBody ? `<h4>Request body</h4>${contentHtml(requestBody)}` : ''}
<h4>Responses</h4><table>${responses}</table>
</section>`;
}

/** A readable, self-contained reference page of the description: no script, nothing fetched from elsewhere. */
export function docsHtml(doc: Doc): string {
  const byTag = new Map<string, string[]>();
  const toc: string[] = [];
  for (const [path, item] of Object.entries(doc.paths ?? {})) {
    for (const [method, op] of Object.entries(item as Record<string, Json>)) {
      if (!['get', 'post', 'put', 'patch', 'delete'].includes(method)) continue;
      const tag = ((op.tags as string[] | undefined) ?? ['other'])[0]!;
      byTag.set(tag, [...(byTag.get(tag) ?? []), operationHtml(path, method, op)]);
      toc.push(
        `<li><a href="#${`${method}-${path}`.replace(/[^\w-]/g, '-')}">${escape(method.toUpperCase())} ${escape(path)}</a></li>`,
      );
    }
  }
  const tags = (doc.tags ?? []).map((t) => t.name);
  const sections = [...tags, ...[...byTag.keys()].filter((t) => !tags.includes(t))]
    .filter((tag) => byTag.has(tag))
    .map((tag) => {
      const about = doc.tags?.find((t) => t.name === tag)?.description;
      return `<h2 id="tag-${escape(tag)}">${escape(tag)}</h2>${about ? `<p>${escape(about)}</p>` : ''}${byTag.get(tag)!.join('\n')}`;
    })
    .join('\n');
  const schemas = Object.entries(doc.components?.schemas ?? {})
    .map(
      ([name, schema]) =>
        `<section class="schema" id="schema-${escape(name)}"><h3>${escape(name)}</h3>${schemaHtml(schema)}</section>`,
    )
    .join('\n');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escape(doc.info.title)} ${escape(doc.info.version)}</title>
<style>
body{font:15px/1.5 system-ui,sans-serif;margin:0;display:flex;color:#1d2330}
nav{width:300px;flex:none;height:100vh;overflow:auto;position:sticky;top:0;background:#f4f5f8;padding:1em;box-sizing:border-box;font-size:13px}
nav ul{list-style:none;padding:0}nav a{color:#1d2330;text-decoration:none}
main{padding:1em 2em;max-width:960px}
.op{border:1px solid #dde1ea;border-radius:6px;padding:0 1em;margin:1em 0}
.method{display:inline-block;min-width:4.5em;text-align:center;border-radius:4px;color:#fff;font-size:13px;padding:2px 6px}
.get{background:#2f7dd1}.post{background:#2c9a5c}.delete{background:#c8443a}
.lock{font-size:12px;border:1px solid #999;border-radius:3px;padding:0 4px;color:#555}
pre{background:#f7f8fa;padding:.6em;overflow:auto;font-size:12px;max-height:30em}
table{border-collapse:collapse;width:100%}td{border-top:1px solid #eee;padding:4px 8px;vertical-align:top}
.status{font-weight:bold;width:4em}.s2{color:#2c9a5c}.s4{color:#b3701a}.s5{color:#c8443a}
.type{color:#666;font-size:12px}
</style></head>
<body><nav><strong>${escape(doc.info.title)}</strong><br>OpenAPI ${escape(doc.openapi)} · <a href="/openapi.json">openapi.json</a>
<ul>${toc.join('')}</ul><a href="#schemas">Schemas</a></nav>
<main><h1>${escape(doc.info.title)} <small>${escape(doc.info.version)}</small></h1>
<p>${escape(doc.info.description ?? '')}</p>
${sections}
<h2 id="schemas">Schemas</h2>
${schemas}
</main></body></html>`;
}

/** `GET /openapi.json` and `GET /docs`: public, like /health. */
export function docsRouter(): Router {
  const router = Router();
  let page: string | undefined;
  router.get('/openapi.json', (_req, res) => {
    res.json(openApiDocument());
  });
  router.get('/docs', (_req, res) => {
    page ??= docsHtml(openApiDocument());
    res.set('content-security-policy', "default-src 'none'; style-src 'unsafe-inline'").type('html').send(page);
  });
  return router;
}
