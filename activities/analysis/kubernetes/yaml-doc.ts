import type { Document, LineCounter, ParsedNode } from 'yaml';
import { isMap, isScalar, isSeq } from 'yaml';
import type { Finding, Severity } from '../finding';

/** One parsed YAML document of a manifest file, and findings placed on its own lines. */

export const TOOL = 'kubernetes';

export type Segment = string | number;

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

export function pointerSegments(pointer: string): Segment[] {
  if (!pointer) return [];
  return pointer
    .split('/')
    .slice(1)
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'))
    .map((s) => (/^(0|[1-9][0-9]*)$/.test(s) ? Number(s) : s));
}

export function dotted(segments: Segment[]): string {
  return segments.reduce<string>((acc, s) => (typeof s === 'number' ? `${acc}[${s}]` : acc ? `${acc}.${s}` : s), '');
}

export interface DocContext {
  file: string;
  doc: Document.Parsed;
  lines: LineCounter;
  /** `Deployment/web` for messages. */
  name: string;
}

export function lineOf(ctx: DocContext, segments: Segment[], preferKey = false): number {
  const { node, key } = locate(ctx.doc, segments);
  const target = preferKey && key ? key : (node ?? ctx.doc.contents);
  const offset = target?.range?.[0] ?? ctx.doc.range[0];
  return ctx.lines.linePos(offset).line;
}

export function finding(
  ctx: DocContext,
  rule: string,
  severity: Severity,
  line: number,
  message: string,
  suggestion?: string,
): Finding {
  return { tool: TOOL, rule, severity, file: ctx.file, line, message, ...(suggestion ? { suggestion } : {}) };
}
