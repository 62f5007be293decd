/**
 * Validates Kubernetes manifests with the same checks as `analyzeCode` (the strict Kubernetes JSON
 * schemas of ANALYSIS_KUBERNETES_VERSION, plus the workload rules), for a chart's rendered output:
 *
 *   helm template sophia helm/sophia-code --kube-version 1.34.0 | npx tsx scripts/check-manifests.ts
 *   npx tsx scripts/check-manifests.ts --fail-on warning k8s/*.yaml
 *
 * Prints one line per finding (`file:line severity rule message`) and exits 1 when a finding is at
 * least as severe as --fail-on (error by default), 2 on bad usage.
 */
import fs from 'node:fs';
import { checkKubernetesManifests } from '../activities/analysis/kubernetes';
import { type Severity } from '../activities/analysis/finding';
import { toolchains } from '../activities/sandbox/toolchains';
import { config } from '../common/config';

const RANK: Record<Severity, number> = { error: 0, warning: 1, info: 2 };

function usage(message: string): never {
  process.stderr.write(`${message}\nusage: check-manifests [--fail-on error|warning|info] [file… | -]\n`);
  process.exit(2);
}

async function main(): Promise<number> {
  const args = process.argv.slice(2);
  let failOn: Severity = 'error';
  const paths: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] ?? '';
    if (arg === '--fail-on') {
      const value = args[++i];
      if (value !== 'error' && value !== 'warning' && value !== 'info')
        usage(`--fail-on takes error, warning or info (got ${String(value)})`);
      failOn = value;
    } else if (arg.startsWith('--')) {
      usage(`unknown option ${arg}`);
    } else {
      paths.push(arg);
    }
  }
  const files: Record<string, string> = {};
  for (const p of paths.length ? paths : ['-'])
    files[p === '-' ? 'stdin' : p] = fs.readFileSync(p === '-' ? 0 : p, 'utf8');
  const findings = checkKubernetesManifests(files, await toolchains(), {
    ruleset: 'deploy',
    version: config().ANALYSIS_KUBERNETES_VERSION,
  });
  for (const f of findings) process.stdout.write(`${f.file}:${f.line} ${f.severity} ${f.rule} ${f.message}\n`);
  const failing = findings.filter((f) => RANK[f.severity] <= RANK[failOn]).length;
  const documents = Object.values(files).reduce(
    (n, text) => n + text.split(/^---\s*$/m).filter((d) => /^kind:/m.test(d)).length,
    0,
  );
  process.stderr.write(
    `${documents} documents, ${findings.length} findings, ${failing} at or above ${failOn} (Kubernetes ${config().ANALYSIS_KUBERNETES_VERSION})\n`,
  );
  return failing > 0 ? 1 : 0;
}

main()
  .then((code) => process.exit(code))
  .catch((err: unknown) => {
    process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(2);
  });
