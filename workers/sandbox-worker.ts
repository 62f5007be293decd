/** The sandbox pool alone, as one Kubernetes Deployment runs it. */
import { main } from './run-pools';

main(['sandbox']);
