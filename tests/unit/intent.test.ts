import { detectLanguage, detectTaskKind } from '../../api/intent';

describe('detectTaskKind', () => {
  it.each([
    ['write tests for the fix', 'test'],
    ['Please add unit tests for the parser', 'test'],
    ['fix the failing test in auth.py', 'debug'],
    ['The JWT verification throws an exception on expired tokens', 'debug'],
    ['Review my payment module for security problems', 'review'],
    ['Refactor the user service to use dependency injection', 'refactor'],
    ['add type hints and docstrings to these three files', 'document'],
    ['document the public API', 'document'],
    ['write a Dockerfile and Kubernetes manifests for this service', 'deploy'],
    ['Create a user profile CRUD API with FastAPI', 'generate'],
    ['I need a function that parses ISO dates', 'generate'],
    ['can you write a fix for the off-by-one error', 'debug'],
  ])('reads %j as %s', (message, kind) => {
    expect(detectTaskKind(message)).toBe(kind);
  });
});

describe('detectLanguage', () => {
  it('prefers the files over the words', () => {
    expect(detectLanguage('write javascript', { 'a.py': '' })).toBe('python');
  });
  it('reads the language from the message', () => {
    expect(detectLanguage('a TypeScript helper')).toBe('typescript');
    expect(detectLanguage('a pytest suite')).toBe('python');
    expect(detectLanguage('a helper')).toBeUndefined();
  });
});
