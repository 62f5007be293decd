/** The memory workflows alone, so memory tests bundle only what they run. */
export * from '../../workflows/index-repository/workflow';
export * from '../../workflows/memory/workflow';
