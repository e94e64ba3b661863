/** The "Operations and DPoP cost" section of RESULTS.md: metrics, tracing and DPoP against the plain BFF. */
import type { RunReport } from './report.ts';
import {
  BFF_DEFAULTS,
  BFF_DPOP,
  BFF_METRICS,
  BFF_TRACING,
  BFF_TRACING_SAMPLED,
  fixed,
  MB,
  type Summary,
  sideBySideTable,
} from './report-cells.ts';

/** "Operations and DPoP cost": the four BFFs side by side per cell, and what showed each setting was on. */
export function opsSection(
  report: RunReport,
  get: (scenario: string, upstream: string, connections: number) => Summary | undefined,
): string[] {
  const lines = [
    '',
    '## Operations and DPoP cost',
    '',
    `Five BFF processes, same build, each at the production defaults (LOG_LEVEL=info, cookie store): **${BFF_DEFAULTS}** as is, which is also the tracing-off, metrics-off and bearer case; ` +
      `**${BFF_METRICS}** with \`METRICS_PORT\` (Prometheus on a listener of its own: each request observes a histogram, each upstream call another); ` +
      `**${BFF_TRACING}** with \`OTEL_EXPORTER_OTLP_ENDPOINT\` (\`http/protobuf\`, the SDK's batch span processor at its defaults) pointing at a receiver in the orchestrator that reads and discards each export: a server span per request, a client span for the upstream call, \`traceparent\` injected; ` +
      `**${BFF_TRACING_SAMPLED}**, the same with \`OTEL_TRACES_SAMPLER=parentbased_traceidratio\` and \`OTEL_TRACES_SAMPLER_ARG=0.1\` (read by the SDK), exporting to a receiver of its own: one request in ten recorded, the others get a non-recording span, no client span and no attributes, and pass on a \`traceparent\` flagged unsampled; ` +
      `**${BFF_DPOP}**, signed in through itself, whose session holds an ES256 key the IdP binds its tokens to: one fresh DPoP proof signed per proxied request (the bench's upstream does not verify it). ` +
      'Measured on the fast upstream at 1 and 50 connections, interleaved with the other scenarios. Ratios in brackets are to the plain BFF in the same cell.',
  ];
  const columns: [string, string][] = [
    [BFF_METRICS, '+ metrics'],
    [BFF_TRACING, '+ tracing'],
    [BFF_TRACING_SAMPLED, '+ tracing 10 %'],
    [BFF_DPOP, 'DPoP'],
  ];
  let any = false;
  for (const upstream of ['fast', '5 ms']) {
    for (const connections of [1, 10, 50]) {
      const plain = get(BFF_DEFAULTS, upstream, connections);
      const others = columns.map(([scenario]) => get(scenario, upstream, connections));
      if (!plain || others.every((s) => s === undefined)) continue;
      any = true;
      lines.push(
        '',
        `### ${upstream} upstream, ${connections} connection${connections === 1 ? '' : 's'}`,
        '',
        ...sideBySideTable(
          'bff (info)',
          plain,
          columns.map(([, label], i) => [label, others[i]] as const),
        ),
      );
    }
  }
  if (!any) return [...lines.slice(0, 3), 'Not measured in this run.'];

  const ops = report.ops;
  const checks: string[] = [];
  if (ops?.metrics) {
    checks.push(
      `- **${BFF_METRICS}**: its \`/metrics\`, fetched once after the matrix, counts \`bff_http_request_duration_seconds_count{group="api",status_class="2xx"}\` = ${ops.metrics.apiCount2xx.toLocaleString('en')}, ` +
        `at least the ${ops.metrics.answered2xx.toLocaleString('en')} 2xx \`/api\` answers the bench counted from it (the \`/echo\` check, the warm-up and the matrix; fewer would have aborted the run).`,
    );
  }
  if (ops?.tracing) {
    const t = ops.tracing;
    const perAnswer = (n: number) => fixed(n / t.answered, 2);
    checks.push(
      `- **${BFF_TRACING}**: the receiver got ${t.exports.toLocaleString('en')} OTLP exports (${fixed(t.bytes / MB, 1)} MB of protobuf) holding ${t.spans.toLocaleString('en')} spans, ` +
        `${t.serverSpans.toLocaleString('en')} server and ${t.clientSpans.toLocaleString('en')} client, for ${t.answered.toLocaleString('en')} 2xx \`/api\` answers the bench counted from it ` +
        `(${perAnswer(t.serverSpans)} server and ${perAnswer(t.clientSpans)} client spans per answer; counted after the BFF flushed at SIGTERM` +
        `${t.rejected > 0 ? `; ${t.rejected} requests it could not read` : ''}). ` +
        'Fewer than one of each per answer would mean the SDK dropped spans (its batch span processor holds at most 2 048 and drops the rest when the exporter falls behind); ' +
        'a few more are requests still in flight when a load run stopped (up to one per connection per run), answered and traced but not counted by the bench.',
    );
  }
  if (ops?.tracingSampled) {
    const t = ops.tracingSampled;
    checks.push(
      `- **${BFF_TRACING_SAMPLED}**: its receiver got ${t.spans.toLocaleString('en')} spans, ${t.serverSpans.toLocaleString('en')} server and ${t.clientSpans.toLocaleString('en')} client, ` +
        `for ${t.answered.toLocaleString('en')} 2xx \`/api\` answers: ${fixed((t.serverSpans / t.answered) * 100, 1)} % of requests traced with a ratio of ${t.ratio} ` +
        `(none, or more than twice the ratio, would have aborted the run).`,
    );
  }
  if (ops?.dpop) {
    const d = ops.dpop;
    checks.push(
      `- **${BFF_DPOP}**: before measuring, the upstream's \`/echo\` received \`Authorization: DPoP …\` and a \`DPoP\` proof: \`typ\` ${d.typ}, \`alg\` ${d.alg}, \`htm\` ${d.htm}, \`htu\` ${d.htu} (the upstream URL), ` +
        `signature ${d.signatureValid ? 'valid' : 'invalid'} for the \`jwk\` in its header, \`ath\` ${d.athMatches ? "the access token's hash" : 'wrong'}; ` +
        `${d.tokenBound === undefined ? 'the access token is opaque, so its binding was not read' : d.tokenBound ? "the access token's `cnf.jkt` is that key's thumbprint (a DPoP-bound token)" : "the access token's `cnf.jkt` is not that key's"}.`,
    );
  }
  if (checks.length > 0) lines.push('', 'Each setting was in effect:', '', ...checks);
  return lines;
}
