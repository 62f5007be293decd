/** Runs the pools listed in WORKER_POOLS in one process (a laptop, a small deployment). */
import { config } from '../common/config';
import { main, parsePools } from './run-pools';

main(() => parsePools(config().WORKER_POOLS));
