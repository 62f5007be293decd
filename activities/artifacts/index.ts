import path from 'node:path';
import { config } from '../../common/config';
import { ArtifactStore } from './store';

export * from './store';

let store: ArtifactStore | undefined;

/** The process's artifact store, under `$SOPHIA_DATA_DIR/artifacts`. */
export function artifactStore(): ArtifactStore {
  store ??= new ArtifactStore(path.join(config().dataDir, 'artifacts'));
  return store;
}
