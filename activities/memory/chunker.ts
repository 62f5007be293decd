import path from 'node:path';
import ts from 'typescript';

/** One retrievable piece of a source file: a function, a class, a method, a doc section. */
export interface Chunk {
  /** `ArtifactStore.put`, `parseConfig`, `## Layout`… */
  symbol: string;
  kind: 'function' | 'class' | 'method' | 'type' | 'variable' | 'section' | 'lines';
  startLine: number;
  endLine: number;
  text: string;
  /** Context placed before the text when embedding (the enclosing class's doc), never shown. */
  context?: string;
}

/** Longer pieces are split: a prompt wants several focused memories, not one huge function. */
export const MAX_CHUNK_CHARS = 4_000;

const LANGUAGE_BY_EXT: Record<string, string> = {
  '.ts': 'typescript',
  '.tsx': 'typescript',
  '.mts': 'typescript',
  '.cts': 'typescript',
  '.js': 'javascript',
  '.jsx': 'javascript',
  '.mjs': 'javascript',
  '.cjs': 'javascript',
  '.py': 'python',
  '.md': 'markdown',
  '.go': 'go',
  '.rs': 'rust',
  '.java': 'java',
  '.rb': 'ruby',
  '.sh': 'shell',
  '.yaml': 'yaml',
  '.yml': 'yaml',
  '.toml': 'toml',
  '.sql': 'sql',
  '.c': 'c',
  '.h': 'c',
  '.cpp': 'cpp',
  '.cs': 'csharp',
  '.kt': 'kotlin',
  '.php': 'php',
  '.swift': 'swift',
};

/** The language of an indexable file, or undefined for files the indexer skips. */
export function languageOf(filePath: string): string | undefined {
  return LANGUAGE_BY_EXT[path.extname(filePath).toLowerCase()];
}

/** Splits a source file into chunks by function and class (TS/JS, Python), by heading (Markdown), else by lines. */
export function chunkFile(filePath: string, text: string): Chunk[] {
  const language = languageOf(filePath);
  const chunks =
    language === 'typescript' || language === 'javascript'
      ? chunkTypeScript(filePath, text)
      : language === 'python'
        ? chunkPython(text)
        : language === 'markdown'
          ? chunkMarkdown(text)
          : [];
  // A file without declarations (a script, a config) is still worth finding.
  const found = chunks.length > 0 ? chunks : chunkLines(text);
  return found.flatMap(splitLong).filter((c) => c.text.trim().length > 0);
}

function chunkTypeScript(filePath: string, text: string): Chunk[] {
  const ext = path.extname(filePath).toLowerCase();
  const kind =
    ext === '.tsx' || ext === '.jsx' ? ts.ScriptKind.TSX : ext.includes('j') ? ts.ScriptKind.JS : ts.ScriptKind.TS;
  const sf = ts.createSourceFile(filePath, text, ts.ScriptTarget.Latest, true, kind);
  const chunks: Chunk[] = [];
  const lineOf = (pos: number): number => sf.getLineAndCharacterOfPosition(pos).line + 1;
  const make = (node: ts.Node, symbol: string, chunkKind: Chunk['kind'], context?: string): Chunk => {
    const start = node.getStart(sf, true);
    return {
      symbol,
      kind: chunkKind,
      startLine: lineOf(start),
      endLine: lineOf(node.getEnd()),
      text: text.slice(start, node.getEnd()),
      context,
    };
  };

  for (const statement of sf.statements) {
    if (ts.isFunctionDeclaration(statement) && statement.name) {
      chunks.push(make(statement, statement.name.text, 'function'));
    } else if (ts.isClassDeclaration(statement)) {
      const className = statement.name?.text ?? 'default';
      const doc = leadingDoc(statement, sf);
      const members: ts.ClassElement[] = [];
      for (const member of statement.members) {
        const isCallable =
          ts.isMethodDeclaration(member) ||
          ts.isConstructorDeclaration(member) ||
          ts.isGetAccessor(member) ||
          ts.isSetAccessor(member) ||
          (ts.isPropertyDeclaration(member) && !!member.initializer && ts.isArrowFunction(member.initializer));
        if (!isCallable) continue;
        members.push(member);
        const name = ts.isConstructorDeclaration(member) ? 'constructor' : (member.name?.getText(sf) ?? 'member');
        chunks.push(make(member, `${className}.${name}`, 'method', `${className}: ${doc}`));
      }
      // The class itself without its method bodies: its doc, heritage and fields.
      const start = statement.getStart(sf, true);
      let summary = text.slice(start, statement.getEnd());
      for (const member of [...members].reverse()) {
        const from = member.getStart(sf, true) - start;
        const to = member.getEnd() - start;
        summary = summary.slice(0, from) + summary.slice(to);
      }
      chunks.push({
        symbol: className,
        kind: 'class',
        startLine: lineOf(start),
        endLine: lineOf(statement.getEnd()),
        text: summary.replace(/\n\s*\n(\s*\n)+/g, '\n\n'),
      });
    } else if (
      ts.isInterfaceDeclaration(statement) ||
      ts.isTypeAliasDeclaration(statement) ||
      ts.isEnumDeclaration(statement)
    ) {
      chunks.push(make(statement, statement.name.text, 'type'));
    } else if (ts.isVariableStatement(statement)) {
      const names = statement.declarationList.declarations.map((d) => d.name.getText(sf));
      const callable = statement.declarationList.declarations.some(
        (d) => d.initializer && (ts.isArrowFunction(d.initializer) || ts.isFunctionExpression(d.initializer)),
      );
      const exported = statement.modifiers?.some((m) => m.kind === ts.SyntaxKind.ExportKeyword) ?? false;
      // Small private constants are noise on their own; functions and exported values are not.
      if (callable || exported || statement.getWidth(sf) > 400) {
        chunks.push(make(statement, names.join(', '), callable ? 'function' : 'variable'));
      }
    }
  }
  return chunks;
}

function leadingDoc(node: ts.Node, sf: ts.SourceFile): string {
  const ranges = ts.getLeadingCommentRanges(sf.text, node.getFullStart()) ?? [];
  return ranges
    .map((r) => sf.text.slice(r.pos, r.end))
    .join('\n')
    .replace(/^\s*(\/\*\*?|\*\/|\*|\/\/)/gm, '')
    .replace(/\s+/g, ' ')
    .trim()
    .slice(0, 300);
}

interface PyBlock {
  kind: 'def' | 'class';
  name: string;
  indent: number;
  start: number;
  end: number;
  children: PyBlock[];
}

function chunkPython(text: string): Chunk[] {
  const lines = text.split('\n');
  const indentOf = (line: string): number => line.length - line.trimStart().length;
  const blank = (line: string): boolean => line.trim() === '' || line.trimStart().startsWith('#');
  const roots: PyBlock[] = [];
  const stack: PyBlock[] = [];
  lines.forEach((line, i) => {
    if (blank(line)) return;
    const indent = indentOf(line);
    while (stack.length && indent <= stack[stack.length - 1]!.indent) stack.pop();
    const match = /^\s*(?:async\s+)?(def|class)\s+([A-Za-z_]\w*)/.exec(line);
    if (!match) return;
    let start = i;
    // Decorators belong to the definition below them.
    while (start > 0 && lines[start - 1]!.trimStart().startsWith('@') && indentOf(lines[start - 1]!) === indent)
      start--;
    const block: PyBlock = { kind: match[1] as 'def' | 'class', name: match[2]!, indent, start, end: i, children: [] };
    (stack.length ? stack[stack.length - 1]!.children : roots).push(block);
    stack.push(block);
  });
  // A block ends at the last non-blank line before the next line indented at or left of it.
  const close = (block: PyBlock): void => {
    let end = block.start;
    for (let i = block.start + 1; i < lines.length; i++) {
      if (blank(lines[i]!)) continue;
      if (indentOf(lines[i]!) <= block.indent) break;
      end = i;
    }
    block.end = Math.max(end, block.start);
    block.children.forEach(close);
  };
  roots.forEach(close);

  const slice = (from: number, to: number): string => lines.slice(from, to + 1).join('\n');
  const chunks: Chunk[] = [];
  for (const block of roots) {
    if (block.kind === 'def') {
      chunks.push({
        symbol: block.name,
        kind: 'function',
        startLine: block.start + 1,
        endLine: block.end + 1,
        text: slice(block.start, block.end),
      });
      continue;
    }
    const doc =
      /("""|''')([\s\S]*?)\1/.exec(slice(block.start, Math.min(block.end, block.start + 15)))?.[2]?.trim() ?? '';
    const methods = block.children;
    for (const m of methods) {
      chunks.push({
        symbol: `${block.name}.${m.name}`,
        kind: 'method',
        startLine: m.start + 1,
        endLine: m.end + 1,
        text: slice(m.start, m.end),
        context: `${block.name}: ${doc.slice(0, 300)}`,
      });
    }
    const own = lines
      .slice(block.start, block.end + 1)
      .filter((_, offset) => !methods.some((m) => block.start + offset >= m.start && block.start + offset <= m.end))
      .join('\n');
    chunks.push({ symbol: block.name, kind: 'class', startLine: block.start + 1, endLine: block.end + 1, text: own });
  }
  return chunks;
}

function chunkMarkdown(text: string): Chunk[] {
  const lines = text.split('\n');
  const chunks: Chunk[] = [];
  let start = 0;
  let heading = '(top)';
  let inFence = false;
  const flush = (end: number): void => {
    const body = lines.slice(start, end).join('\n');
    if (body.trim()) chunks.push({ symbol: heading, kind: 'section', startLine: start + 1, endLine: end, text: body });
  };
  lines.forEach((line, i) => {
    if (line.trimStart().startsWith('```')) inFence = !inFence;
    const match = !inFence && /^(#{1,3})\s+(.*)$/.exec(line);
    if (match && i > start) {
      flush(i);
      start = i;
    }
    if (match) heading = match[2]!.trim();
  });
  flush(lines.length);
  return chunks;
}

function chunkLines(text: string, window = 80): Chunk[] {
  const lines = text.split('\n');
  const chunks: Chunk[] = [];
  for (let i = 0; i < lines.length; i += window) {
    const end = Math.min(lines.length, i + window);
    chunks.push({
      symbol: `lines ${i + 1}-${end}`,
      kind: 'lines',
      startLine: i + 1,
      endLine: end,
      text: lines.slice(i, end).join('\n'),
    });
  }
  return chunks;
}

function splitLong(chunk: Chunk): Chunk[] {
  if (chunk.text.length <= MAX_CHUNK_CHARS) return [chunk];
  const lines = chunk.text.split('\n');
  const parts: Chunk[] = [];
  let current: string[] = [];
  let size = 0;
  let startLine = chunk.startLine;
  const flush = (): void => {
    if (current.length === 0) return;
    parts.push({
      ...chunk,
      symbol: `${chunk.symbol} (part ${parts.length + 1})`,
      startLine,
      endLine: startLine + current.length - 1,
      text: current.join('\n'),
    });
    startLine += current.length;
    current = [];
    size = 0;
  };
  for (const line of lines) {
    if (size + line.length + 1 > MAX_CHUNK_CHARS && current.length > 0) flush();
    current.push(line.slice(0, MAX_CHUNK_CHARS));
    size += Math.min(line.length, MAX_CHUNK_CHARS) + 1;
  }
  flush();
  return parts;
}
