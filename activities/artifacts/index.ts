export * from '../../common/artifact-store';
export { artifactStore } from '../../common/artifacts';
