/** The workflow bundle: the worker's workflowsPath. */
export * from './coding-job/workflow';
