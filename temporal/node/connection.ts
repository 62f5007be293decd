import { Client, Connection, type ConnectionLike, type ConnectionOptions } from '@temporalio/client';
import { toClientOptions } from '@temporalio/envconfig';
import { OpenTelemetryWorkflowClientInterceptor } from '@temporalio/interceptors-opentelemetry';
import { temporal } from '@temporalio/proto';
import { NativeConnection, type NativeConnectionOptions } from '@temporalio/worker';
import type { Config } from '../../common/config';
import { SEARCH_ATTRIBUTE_KEYS } from '../search-attributes';

type TemporalConfig = Pick<Config, 'TEMPORAL_ADDRESS' | 'TEMPORAL_NAMESPACE' | 'TEMPORAL_API_KEY' | 'temporal'>;

/**
 * Connection options from the config's Temporal profile (read by `@temporalio/envconfig`), with the
 * address, namespace and API key the config settled on. TLS is on with an API key or a TLS section
 * (TEMPORAL_TLS=false turns it off); an API key also names the namespace in the gRPC metadata.
 */
export function connectionOptions(cfg: TemporalConfig): ConnectionOptions & NativeConnectionOptions {
  const { connectionOptions: options } = toClientOptions({
    ...cfg.temporal,
    address: cfg.TEMPORAL_ADDRESS,
    namespace: cfg.TEMPORAL_NAMESPACE,
    apiKey: cfg.TEMPORAL_API_KEY,
    grpcMeta: {
      ...cfg.temporal.grpcMeta,
      ...(cfg.TEMPORAL_API_KEY ? { 'temporal-namespace': cfg.TEMPORAL_NAMESPACE } : {}),
    },
  });
  return { ...options, address: cfg.TEMPORAL_ADDRESS };
}

/** A client connection (API, CLI, tests). Fails fast when Temporal is unreachable. */
export async function connectClient(cfg: TemporalConfig, connectTimeoutMs = 5_000): Promise<Client> {
  const connection = await Connection.connect({ ...connectionOptions(cfg), connectTimeout: connectTimeoutMs });
  // Starts, signals and queries carry the caller's trace context into the workflow (a no-op without tracing).
  return new Client({
    connection,
    namespace: cfg.TEMPORAL_NAMESPACE,
    interceptors: { workflow: [new OpenTelemetryWorkflowClientInterceptor()] },
  });
}

/** A worker connection. */
export function connectWorker(cfg: TemporalConfig): Promise<NativeConnection> {
  return NativeConnection.connect(connectionOptions(cfg));
}

/**
 * Registers the custom search attributes on the namespace. Idempotent: attributes that already
 * exist are left alone. Cloud namespaces manage attributes out of band, so a permission error
 * is reported, not thrown.
 */
export async function ensureSearchAttributes(client: Client, namespace: string): Promise<'registered' | 'present'> {
  const existing = await client.connection.operatorService.listSearchAttributes({ namespace });
  const missing = SEARCH_ATTRIBUTE_KEYS.filter((key) => !(key.name in (existing.customAttributes ?? {})));
  if (missing.length === 0) return 'present';
  await addSearchAttributes(client.connection, namespace, missing);
  return 'registered';
}

/**
 * Adds search attributes to the namespace without listing them first: the time-skipping test
 * server implements AddSearchAttributes but not ListSearchAttributes.
 */
export async function addSearchAttributes(
  connection: Pick<ConnectionLike, 'operatorService'>,
  namespace: string,
  keys: readonly (typeof SEARCH_ATTRIBUTE_KEYS)[number][] = SEARCH_ATTRIBUTE_KEYS,
): Promise<void> {
  const typeOf: Record<string, number> = {
    KEYWORD: temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD,
    INT: temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_INT,
    TEXT: temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_TEXT,
    BOOL: temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_BOOL,
    DOUBLE: temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_DOUBLE,
    DATETIME: temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_DATETIME,
    KEYWORD_LIST: temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD_LIST,
  };
  await connection.operatorService.addSearchAttributes({
    namespace,
    searchAttributes: Object.fromEntries(keys.map((key) => [key.name, typeOf[key.type]!])),
  });
}
