/**
 * A stand-in for an OpenTelemetry collector, for the `bff + tracing` scenario: an OTLP/HTTP
 * receiver (`POST /v1/traces`) in the orchestrator process that reads each export, counts its
 * spans, discards it and answers 200 `{}`. It only counts, so the report can say that traces
 * really were exported; it stores nothing.
 *
 * Spans are counted by walking the protobuf wire format (`http/protobuf`, the exporter's
 * default) just deep enough: ExportTraceServiceRequest.resource_spans (1) → ResourceSpans.scope_spans
 * (2) → ScopeSpans.spans (2) → Span.kind (6). JSON exports (`http/json`) are counted too.
 *
 * @see https://opentelemetry.io/docs/specs/otlp/#otlphttp
 * @see https://github.com/open-telemetry/opentelemetry-proto/blob/main/opentelemetry/proto/trace/v1/trace.proto
 */
import { createServer } from 'node:http';
import { gunzipSync } from 'node:zlib';

export interface OtlpStats {
  /** Export requests to `/v1/traces`. */
  readonly exports: number;
  readonly spans: number;
  /** Spans of kind SERVER (2) and CLIENT (3). */
  readonly serverSpans: number;
  readonly clientSpans: number;
  /** Request bodies as received (before any gunzip). */
  readonly bytes: number;
  /** Requests to other paths, or bodies that could not be read: should stay 0. */
  readonly rejected: number;
}

export interface OtlpReceiver {
  /** `http://127.0.0.1:<port>`: the value of `OTEL_EXPORTER_OTLP_ENDPOINT`. */
  readonly url: string;
  stats(): OtlpStats;
  close(): Promise<void>;
}

const SPAN_KIND_SERVER = 2;
const SPAN_KIND_CLIENT = 3;

export async function startOtlpReceiver(): Promise<OtlpReceiver> {
  const stats = { exports: 0, spans: 0, serverSpans: 0, clientSpans: 0, bytes: 0, rejected: 0 };
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const raw = Buffer.concat(chunks);
      stats.bytes += raw.length;
      if (req.method !== 'POST' || (req.url ?? '').split('?')[0] !== '/v1/traces') {
        stats.rejected++;
        res.writeHead(404).end();
        return;
      }
      try {
        const body = req.headers['content-encoding'] === 'gzip' ? gunzipSync(raw) : raw;
        const kinds = String(req.headers['content-type']).includes('json')
          ? jsonSpanKinds(body)
          : protobufSpanKinds(body);
        stats.exports++;
        stats.spans += kinds.length;
        for (const kind of kinds) {
          if (kind === SPAN_KIND_SERVER) stats.serverSpans++;
          else if (kind === SPAN_KIND_CLIENT) stats.clientSpans++;
        }
      } catch (error) {
        // A body this walker cannot read is counted, not fatal: the exporter's success is what matters.
        void error;
        stats.rejected++;
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  server.keepAliveTimeout = 65_000;
  // Never what keeps the orchestrator alive, should a run fail before close().
  server.unref();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    url: `http://127.0.0.1:${port}`,
    stats: () => ({ ...stats }),
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/** One field of a protobuf message: its number, and its bytes (LEN) or value (VARINT). */
interface WireField {
  readonly field: number;
  readonly bytes?: Uint8Array;
  readonly value?: number;
}

function readVarint(buf: Uint8Array, offset: number): [value: number, next: number] {
  let value = 0;
  let scale = 1;
  let pos = offset;
  for (;;) {
    if (pos >= buf.length) throw new Error('truncated varint');
    const byte = buf[pos++] ?? 0;
    value += (byte & 0x7f) * scale;
    if (byte < 0x80) return [value, pos];
    scale *= 128;
  }
}

/** The fields of one message; fixed-width fields are skipped, groups (deprecated, unused by OTLP) refused. */
function* wireFields(buf: Uint8Array): Generator<WireField> {
  let pos = 0;
  while (pos < buf.length) {
    const [key, afterKey] = readVarint(buf, pos);
    const field = Math.floor(key / 8);
    const wireType = key & 7;
    pos = afterKey;
    if (wireType === 0) {
      const [value, next] = readVarint(buf, pos);
      pos = next;
      yield { field, value };
    } else if (wireType === 2) {
      const [length, start] = readVarint(buf, pos);
      pos = start + length;
      if (pos > buf.length) throw new Error('truncated field');
      yield { field, bytes: buf.subarray(start, pos) };
    } else if (wireType === 1) {
      pos += 8;
    } else if (wireType === 5) {
      pos += 4;
    } else {
      throw new Error(`wire type ${wireType}`);
    }
  }
}

const lenFields = (buf: Uint8Array, field: number): Uint8Array[] =>
  [...wireFields(buf)].flatMap((f) => (f.field === field && f.bytes ? [f.bytes] : []));

/** The kind of every span in an ExportTraceServiceRequest (0, UNSPECIFIED, when absent). */
function protobufSpanKinds(body: Uint8Array): number[] {
  const kinds: number[] = [];
  for (const resourceSpans of lenFields(body, 1)) {
    for (const scopeSpans of lenFields(resourceSpans, 2)) {
      for (const span of lenFields(scopeSpans, 2)) {
        kinds.push([...wireFields(span)].find((f) => f.field === 6 && f.value !== undefined)?.value ?? 0);
      }
    }
  }
  return kinds;
}

function jsonSpanKinds(body: Uint8Array): number[] {
  const request = JSON.parse(Buffer.from(body).toString('utf8')) as {
    resourceSpans?: { scopeSpans?: { spans?: { kind?: number }[] }[] }[];
  };
  return (request.resourceSpans ?? []).flatMap((r) =>
    (r.scopeSpans ?? []).flatMap((s) => (s.spans ?? []).map((span) => span.kind ?? 0)),
  );
}
