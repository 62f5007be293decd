/** Prebuilds the workflow bundle for production workers (`dist/workflow-bundle.js`). */
import fs from 'node:fs';
import path from 'node:path';
import { bundleWorkflowCode } from '@temporalio/worker';
import { projectRoot } from '../common/config';
import { WORKFLOW_INTERCEPTOR_MODULES } from '../workers/job-metrics';
import { WORKFLOW_TRACING_INTERCEPTORS } from '../common/tracing';

async function main(): Promise<void> {
  const { code } = await bundleWorkflowCode({
    workflowsPath: require.resolve('../workflows'),
    // Workflow spans when the worker traces (OTEL_EXPORTER_OTLP_ENDPOINT); workers/pools.ts gives them a sink.
    workflowInterceptorModules: [...WORKFLOW_INTERCEPTOR_MODULES, WORKFLOW_TRACING_INTERCEPTORS],
  });
  const out = path.join(projectRoot, 'dist', 'workflow-bundle.js');
  fs.mkdirSync(path.dirname(out), { recursive: true });
  fs.writeFileSync(out, code);
  process.stdout.write(`wrote ${out} (${Math.round(code.length / 1024)} KiB)\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
