import { TestWorkflowEnvironment } from '@temporalio/testing';
import { projectRoot } from '../../common/config';
import { requireBinary } from '../../temporal/node/binaries';
import { SEARCH_ATTRIBUTE_KEYS } from '../../temporal/search-attributes';

/**
 * A real Temporal dev server from the pinned CLI (`.tools/pip`, TEMPORAL_CLI_PATH or PATH), with the
 * project's search attributes, in memory, quiet: what the tests and the benches run against.
 */
export function startLocalTemporal(): Promise<TestWorkflowEnvironment> {
  const cli = requireBinary('temporal', process.env.TEMPORAL_CLI_PATH, projectRoot);
  return TestWorkflowEnvironment.createLocal({
    server: {
      executable: { type: 'existing-path', path: cli.path },
      searchAttributes: SEARCH_ATTRIBUTE_KEYS,
      ip: '127.0.0.1',
      extraArgs: ['--log-level', 'error'],
    },
  });
}
