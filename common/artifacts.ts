import path from 'node:path';
import { ArtifactStore } from './artifact-store';
import { config } from './config';

let store: ArtifactStore | undefined;

/** The process's artifact store, under `$SOPHIA_DATA_DIR/artifacts`. */
export function artifactStore(): ArtifactStore {
  store ??= new ArtifactStore(path.join(config().dataDir, 'artifacts'));
  return store;
}
