import { register, type Metric } from 'prom-client';

/**
 * A metric on the default prom-client registry, made once per process. Modules can be evaluated more
 * than once in one process (jest's module registry; a worker and the API in one process), and
 * registering a name twice throws, so each metric is looked up before it is made.
 */
export function once<T extends Metric>(name: string, make: () => T): T {
  return (register.getSingleMetric(name) as T | undefined) ?? make();
}

export { register };
