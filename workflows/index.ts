/** The workflow bundle: the worker's workflowsPath. */
export * from './coding-job/workflow';
export * from './index-repository/workflow';
export * from './memory/workflow';
export * from './scheduled-review/workflow';
