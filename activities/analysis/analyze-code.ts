import { config } from '../../common/config';
import { missingNames, stubbedNames, suggestedModulePath } from '../../common/task-names';
import { isTestPath } from '../../common/test-files';
import { artifactStore, type ArtifactRef, type FileMap, type FileSetRef } from '../artifacts';
import { heartbeat } from '../context';
import { toolchains } from '../sandbox/toolchains';
import { loadFiles } from '../sandbox/workspace';
import { checkDockerfiles, dockerfiles } from './dockerfile';
import { hasLintableFiles, runEslint } from './eslint';
import { normaliseFindings, summarizeFindings, type Finding, type Ruleset } from './finding';
import { checkKubernetesManifests, kubernetesFiles } from './kubernetes';
import { checkReadme } from './readme';
import { runRuff } from './ruff';
import { analysisFindings } from '../metrics';

export interface AnalyzeCodeInput {
  files: FileSetRef;
  language: 'python' | 'typescript' | 'javascript';
  /**
   * `docs` adds ruff's pydocstyle D and ANN rules, ESLint's jsdoc/require-jsdoc and the README check; `deploy` makes the deploy
   * prompt's asks (resources, probes, non-root USER, HEALTHCHECK) errors. Dockerfiles and Kubernetes
   * manifests are checked under every ruleset.
   */
  ruleset?: Ruleset;
  /**
   * Codacy's findings on these files at this revision (`fetchCodacyFindings` on the llm pool: the
   * sandbox pool holds no Codacy token), merged into the report as tool `codacy`.
   */
  codacyFindings?: ArtifactRef;
  /**
   * The functions and classes the task names: each one that no non-test file defines is an error
   * (rule `task/named-api`), so a job cannot end green without the API that was asked for.
   */
  expectedNames?: string[];
}

export interface AnalyzeCodeResult {
  /** At most MAX_FINDINGS_IN_RESULT, most severe kept; the full list is in `report`. */
  findings: Finding[];
  /** The analyzers that ran: `ruff`, `eslint`, `hadolint`, `kubernetes`, `codacy`. */
  tools: string[];
  /** JSON `{ findings, tools, counts }` in the artifact store. */
  report: ArtifactRef;
  summary: string;
  /** All findings, before the cap. */
  totalFindings: number;
}

/** Keeps workflow history small; the report artifact has everything. */
export const MAX_FINDINGS_IN_RESULT = 200;

function isPython(path: string): boolean {
  return /\.pyi?$/.test(path);
}

/**
 * One error per named API that no source file defines, pinned to the file that should hold it, and
 * one per named API that is defined only as a stub (its docstring, `pass`), pinned to the stub.
 */
export function namedApiFindings(files: FileMap, names: string[], language: string): Finding[] {
  const sources = Object.fromEntries(Object.entries(files).filter(([p]) => !isTestPath(p)));
  const where =
    Object.keys(sources).find((p) => /\.(py|[cm]?[jt]sx?)$/.test(p)) ?? suggestedModulePath(names, language);
  const missing = missingNames(sources, names).map((name) => ({
    tool: 'task',
    rule: 'task/named-api',
    severity: 'error' as const,
    file: where,
    line: 0,
    message: `The task names \`${name}\`, but no file defines it: define \`${name}\` with exactly that name, as the task describes.`,
  }));
  const stubs = stubbedNames(sources, names).map((stub) => ({
    tool: 'task',
    rule: 'task/named-api-stub',
    severity: 'error' as const,
    file: stub.path,
    line: stub.line,
    message: `\`${stub.name}\` has no body yet (only its docstring or a placeholder): write the code that does what the task describes.`,
  }));
  return [...missing, ...stubs];
}

/** Runs the local analyzers by file type, adds Codacy's findings when given, and normalises everything. */
export async function analyzeCodeFiles(input: AnalyzeCodeInput): Promise<AnalyzeCodeResult> {
  const ruleset = input.ruleset ?? 'default';
  const files: FileMap = await loadFiles(input.files);
  const tools: string[] = [];
  const findings: Finding[] = [];
  const python = Object.fromEntries(Object.entries(files).filter(([p]) => isPython(p)));
  if (Object.keys(python).length > 0) {
    heartbeat({ phase: 'ruff' });
    // ruff has no deploy-specific rules: a deploy job's Python is linted as usual.
    findings.push(...(await runRuff(python, ruleset === 'deploy' ? 'default' : ruleset)));
    tools.push('ruff');
  }
  if (hasLintableFiles(files).any) {
    heartbeat({ phase: 'eslint' });
    findings.push(...(await runEslint(files, ruleset)));
    tools.push('eslint');
  }
  const docker = dockerfiles(files);
  if (Object.keys(docker).length > 0) {
    heartbeat({ phase: 'hadolint' });
    findings.push(...(await checkDockerfiles(docker, await toolchains(), ruleset)));
    tools.push('hadolint');
  }
  const manifests = kubernetesFiles(files);
  if (Object.keys(manifests).length > 0) {
    heartbeat({ phase: 'kubernetes' });
    const version = config().ANALYSIS_KUBERNETES_VERSION;
    findings.push(...checkKubernetesManifests(manifests, await toolchains(), { ruleset, version }));
    tools.push('kubernetes');
  }
  if (ruleset === 'docs') {
    findings.push(...checkReadme(files));
    tools.push('readme');
  }
  if (input.expectedNames?.length) {
    findings.push(...namedApiFindings(files, input.expectedNames, input.language));
    tools.push('task');
  }
  if (input.codacyFindings) {
    findings.push(...(JSON.parse(await artifactStore().getText(input.codacyFindings)) as Finding[]));
    tools.push('codacy');
  }
  const all = normaliseFindings(findings);
  for (const f of all) analysisFindings.inc({ tool: f.tool, severity: f.severity });
  const counts = {
    error: all.filter((f) => f.severity === 'error').length,
    warning: all.filter((f) => f.severity === 'warning').length,
    info: all.filter((f) => f.severity === 'info').length,
  };
  const report = await artifactStore().putJson({ findings: all, tools, counts });
  const severityRank = { error: 0, warning: 1, info: 2 } as const;
  const kept =
    all.length <= MAX_FINDINGS_IN_RESULT
      ? all
      : normaliseFindings(
          [...all].sort((a, b) => severityRank[a.severity] - severityRank[b.severity]).slice(0, MAX_FINDINGS_IN_RESULT),
        );
  return { findings: kept, tools, report, summary: summarizeFindings(all, tools), totalFindings: all.length };
}
