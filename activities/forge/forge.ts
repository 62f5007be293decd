/**
 * The forge adapter: what Sophia Code asks of a code-hosting service beyond git itself — pull
 * requests, comments and issues. One implementation today, GitHub (`github.ts`, over its REST API
 * with Octokit). Every write is made idempotent by its caller: find first (by head branch, or by a
 * hidden marker in the body), create only when nothing is there.
 */

export interface PullRequestRef {
  number: number;
  url: string;
  state: 'open' | 'closed';
  head: string;
  base: string;
}

export interface CommentRef {
  id: number;
  url: string;
}

export interface IssueRef {
  number: number;
  url: string;
}

export interface Forge {
  readonly name: 'github';
  /** The default branch of the repository (a pull request's base when the job named no ref). */
  defaultBranch(): Promise<string>;
  /** The open pull request from `head` (a branch of the same repository), if any. */
  findPullRequest(head: string): Promise<PullRequestRef | undefined>;
  createPullRequest(input: {
    head: string;
    base: string;
    title: string;
    body: string;
    draft?: boolean;
  }): Promise<PullRequestRef>;
  /** Comments of an issue or pull request, newest pages last (bounded). */
  listComments(issue: number): Promise<{ id: number; url: string; body: string }[]>;
  createComment(issue: number, body: string): Promise<CommentRef>;
  /** Open issues whose body holds `marker`. */
  findIssue(marker: string): Promise<IssueRef | undefined>;
  createIssue(input: { title: string; body: string }): Promise<IssueRef>;
}

/** The hidden line that makes a comment, issue or pull request findable again by the job that wrote it. */
export function marker(key: string): string {
  return `<!-- sophia-code:${key} -->`;
}
