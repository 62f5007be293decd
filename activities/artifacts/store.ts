// The store itself is shared by every pool and the API (which serves job files), so it lives in common/.
export * from '../../common/artifact-store';
