import { createHmac, timingSafeEqual } from 'node:crypto';
import express, { Router } from 'express';
import type { Config } from '../../common/config';
import type { Logger } from '../../common/logger';
import { readCredentialsFile, type TenantCredentials } from '../../common/git-credentials';
import { HttpError } from '../errors';
import { detectTaskKind } from '../intent';
import type { Quotas } from '../quotas';
import type { TemporalGateway } from '../temporal-gateway';
import { startJobSchema } from '../validation';
import { startJob } from './workflows';

/**
 * `POST /api/hooks/github`: GitHub's webhook. No API key (GitHub sends none): the body must carry a
 * valid `X-Hub-Signature-256` under the webhook secret of a tenant that lists the repository
 * (`SOPHIA_GIT_CREDENTIALS_FILE`), compared in constant time over the raw bytes. Then:
 * - an issue labelled with the tenant's label (`sophia`) starts a job on the repository that ends with
 *   a pull request (its kind read from the issue's title, as `/api/coding/assist` reads a message);
 * - a comment `@sophia review` on a pull request starts a review of its head, posted back as a comment;
 * - `ping` answers pong; anything else is acknowledged and ignored.
 * The job id is the delivery id (`X-GitHub-Delivery`), so a redelivered event starts nothing new.
 */

const REVIEW_COMMAND = /(^|\s)@sophia\s+review\b/i;

interface Payload {
  action?: string;
  repository?: { full_name?: string; clone_url?: string; default_branch?: string };
  issue?: { number?: number; title?: string; body?: string | null; pull_request?: unknown };
  label?: { name?: string };
  comment?: { body?: string; user?: { type?: string } };
}

/** `sha256=<hex>` of the body under the secret, compared in constant time. */
export function signatureValid(body: Buffer, header: string | undefined, secret: string): boolean {
  if (!header || !/^sha256=[0-9a-f]{64}$/i.test(header)) return false;
  const expected = Buffer.from(`sha256=${createHmac('sha256', secret).update(body).digest('hex')}`);
  const given = Buffer.from(header.toLowerCase());
  return given.length === expected.length && timingSafeEqual(given, expected);
}

export function githubHooksRouter(deps: {
  gateway: TemporalGateway;
  cfg: Config;
  log: Logger;
  quotas?: Quotas;
}): Router {
  const { gateway, cfg, log, quotas } = deps;
  const router = Router();
  router.post('/', express.raw({ type: () => true, limit: cfg.API_BODY_LIMIT }), async (req, res) => {
    const raw = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
    const event = req.get('x-github-event') ?? '';
    const delivery = req.get('x-github-delivery') ?? '';
    if (!/^[\w-]{1,100}$/.test(delivery) || !/^[a-z_]{1,50}$/.test(event))
      throw new HttpError(400, 'InvalidInput', 'A GitHub webhook needs X-GitHub-Event and X-GitHub-Delivery.', {});
    let payload: Payload;
    try {
      payload = JSON.parse(raw.toString('utf8')) as Payload;
    } catch {
      throw new HttpError(
        400,
        'InvalidInput',
        'The webhook body is not JSON (set the content type to application/json).',
        {},
      );
    }
    const repo = payload.repository?.full_name ?? '';
    // The tenant is the one whose secret signed this body, among those that list the repository.
    const tenants = Object.entries(readCredentialsFile(cfg.SOPHIA_GIT_CREDENTIALS_FILE).tenants).filter(([, creds]) =>
      creds.webhook?.repositories.includes(repo),
    );
    const signature = req.get('x-hub-signature-256');
    const match = tenants.find(([, creds]) => signatureValid(raw, signature, creds.webhook!.secret));
    if (!match) throw new HttpError(401, 'SignatureInvalid', 'The webhook signature does not verify.', {});
    const [tenant, creds] = match;

    if (event === 'ping') {
      res.json({ delivery, answer: 'pong' });
      return;
    }
    const body = jobFor(event, payload, creds);
    if (!body) {
      res.status(202).json({ delivery, ignored: `${event}${payload.action ? `.${payload.action}` : ''}` });
      return;
    }
    const parsed = startJobSchema.parse({ ...body, requestId: `gh-${delivery}` });
    const started = await startJob(gateway, cfg, parsed, { tenant, role: 'member' }, quotas);
    log.info({ delivery, event, tenant, workflowId: started.workflowId, existing: started.existing }, 'github webhook');
    res.status(started.existing ? 200 : 202).json({
      delivery,
      workflowId: started.workflowId,
      duplicate: started.existing,
    });
  });
  return router;
}

/** The job an event asks for, or undefined when it asks for none. */
export function jobFor(event: string, payload: Payload, creds: TenantCredentials): Record<string, unknown> | undefined {
  const hook = creds.webhook!;
  const url = payload.repository?.clone_url;
  const issue = payload.issue;
  if (!url || !issue?.number) return undefined;
  const language = hook.language ?? 'python';
  if (event === 'issues' && payload.action === 'labeled' && payload.label?.name === hook.label && !issue.pull_request) {
    const title = issue.title ?? '';
    return {
      task: detectTaskKind(title),
      language,
      description: `${title}\n\n${issue.body ?? ''}`.trim().slice(0, 20_000),
      repository: {
        url,
        forge: 'github',
        ...(payload.repository?.default_branch ? { ref: payload.repository.default_branch } : {}),
      },
      options: { pullRequest: true },
    };
  }
  if (
    event === 'issue_comment' &&
    payload.action === 'created' &&
    issue.pull_request &&
    payload.comment?.user?.type !== 'Bot' &&
    REVIEW_COMMAND.test(payload.comment?.body ?? '')
  ) {
    return {
      task: 'review',
      language,
      description: `Review pull request #${issue.number}: ${issue.title ?? ''}`.slice(0, 20_000),
      repository: { url, forge: 'github', ref: `refs/pull/${issue.number}/head` },
      options: { commentOn: issue.number },
    };
  }
  return undefined;
}
