import { context, propagation, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import type { RequestHandler } from 'express';
import { tracer } from '../common/tracing';

/**
 * A server span per request, named by its route (`POST /api/workflows`), with the caller's trace
 * context (`traceparent`) as its parent when sent. Everything the request does runs inside it, so the
 * Temporal client interceptor puts the job's workflow under it: one trace from HTTP to the model calls.
 * No-op while tracing is off.
 */
export function traceRequests(): RequestHandler {
  return (req, res, next) => {
    const parent = propagation.extract(context.active(), req.headers);
    const span = tracer().startSpan(
      `${req.method} ${req.path.slice(0, 100)}`,
      { kind: SpanKind.SERVER, attributes: { 'http.request.method': req.method, 'url.path': req.path.slice(0, 200) } },
      parent,
    );
    if (!span.isRecording()) return next();
    res.on('finish', () => {
      const route = (req.route as { path?: string } | undefined)?.path;
      if (route) {
        const template = route === '/' && req.baseUrl ? req.baseUrl : `${req.baseUrl}${route}`;
        span.updateName(`${req.method} ${template}`);
        span.setAttribute('http.route', template);
      }
      span.setAttribute('http.response.status_code', res.statusCode);
      if (res.statusCode >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
      span.end();
    });
    res.on('close', () => {
      if (!res.writableFinished) span.end();
    });
    context.with(trace.setSpan(parent, span), next);
  };
}
