/**
 * The one path policy: every file name that arrives from outside (API bodies, model answers, files
 * named by review findings, the CLI's `--out` targets) passes here before anything touches a disk.
 *
 * A name is a relative POSIX path inside a project. Refused:
 * - empty names, absolute paths, backslashes and drive letters (`C:`);
 * - `.` and `..` segments, empty segments (`a//b`) and trailing slashes;
 * - anything under `.git/`;
 * - control characters (C0, DEL, C1) and bidi overrides/isolates, which make a name read as another;
 * - lone UTF-16 surrogates;
 * - a component over 255 bytes or a path over 1,024 bytes (UTF-8), the limits of common file systems.
 *
 * Pure (only the failure type from the SDK), so workflow code may use it too.
 */
import { ApplicationFailure } from '@temporalio/common';

export const MAX_PATH_BYTES = 1_024;
export const MAX_COMPONENT_BYTES = 255;

// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;
/** Bidi embeddings, overrides and isolates, plus the invisible marks (LRM, RLM, ALM). */
const BIDI = /[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/;
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/** False when a string holds a lone UTF-16 surrogate (what `String#isWellFormed` checks, in ES2022). */
export function isWellFormedText(text: string): boolean {
  return !LONE_SURROGATE.test(text);
}

function utf8Bytes(s: string): number {
  let bytes = 0;
  for (const ch of s) {
    const cp = ch.codePointAt(0) ?? 0;
    bytes += cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
  }
  return bytes;
}

/** Why a name is refused, or undefined when it is a safe relative path. */
export function pathProblem(name: unknown): string | undefined {
  if (typeof name !== 'string') return 'must be a string';
  if (name.length === 0) return 'must not be empty';
  // Cheap bound first: a 1 MB name is refused before any per-character work.
  if (name.length > MAX_PATH_BYTES || utf8Bytes(name) > MAX_PATH_BYTES)
    return `must be at most ${MAX_PATH_BYTES} bytes`;
  if (LONE_SURROGATE.test(name)) return 'must be valid Unicode (no lone surrogates)';
  if (CONTROL.test(name)) return 'must not contain control characters';
  if (BIDI.test(name)) return 'must not contain bidirectional control characters';
  if (name.includes('\\')) return 'must use / as the separator (no backslashes)';
  if (/^[a-zA-Z]:/.test(name)) return 'must not start with a drive letter';
  if (name.startsWith('/')) return 'must be relative (no leading /)';
  if (name.endsWith('/')) return 'must name a file (no trailing /)';
  const segments = name.split('/');
  for (const segment of segments) {
    if (segment === '') return 'must not contain empty segments (//)';
    if (segment === '.' || segment === '..') return 'must not contain . or .. segments';
    if (utf8Bytes(segment) > MAX_COMPONENT_BYTES) return `each component must be at most ${MAX_COMPONENT_BYTES} bytes`;
  }
  if (segments.some((s) => s.toLowerCase() === '.git')) return 'must not be inside .git/';
  return undefined;
}

/** True when `name` passes the policy. */
export function isSafePath(name: unknown): name is string {
  return pathProblem(name) === undefined;
}

/** The message every caller uses when a path is refused; the name is quoted as JSON so it shows escapes. */
export function pathRefusal(name: string, problem: string): string {
  const shown = JSON.stringify(name.length > 120 ? `${name.slice(0, 117)}...` : name);
  return `Refusing the path ${shown}: it ${problem}.`;
}

/**
 * A model's path in the house form: `./` prefixes dropped (models add them), then checked. Answers
 * the normalised path, or undefined when the policy refuses it.
 */
export function normaliseModelPath(name: string): string | undefined {
  const normalised = name.replace(/^(\.\/)+/, '');
  return isSafePath(normalised) ? normalised : undefined;
}

/**
 * A model's path, normalised, or a non-retryable `ModelOutputInvalid` naming what is wrong: the one
 * line every place that takes a path from a model answer calls.
 */
export function modelPath(name: string): string {
  const normalised = name.replace(/^(\.\/)+/, '');
  const problem = pathProblem(normalised);
  if (problem === undefined) return normalised;
  throw ApplicationFailure.create({
    type: 'ModelOutputInvalid',
    nonRetryable: true,
    message: `The model named a file the path policy refuses. ${pathRefusal(normalised, problem)}`,
  });
}
