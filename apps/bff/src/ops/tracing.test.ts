import { afterEach, describe, expect, it, vi } from 'vitest';
import { startServerSpan, startTracing } from './tracing.ts';

afterEach(() => {
  vi.unstubAllEnvs();
});

describe('startTracing', () => {
  it('leaves sampling to OTEL_TRACES_SAMPLER, which the SDK reads itself', async () => {
    // Nothing is exported: the sampler leaves every span out, and the endpoint is never called.
    vi.stubEnv('OTEL_EXPORTER_OTLP_ENDPOINT', 'http://127.0.0.1:9');
    vi.stubEnv('OTEL_TRACES_SAMPLER', 'parentbased_traceidratio');
    vi.stubEnv('OTEL_TRACES_SAMPLER_ARG', '0');
    const tracing = await startTracing('sampler-test');
    try {
      const { span } = startServerSpan(tracing, { method: 'GET', target: '/api/x?secret=1', route: '/api' });
      expect(span.isRecording()).toBe(false);
      span.end();
    } finally {
      await tracing.shutdown();
    }
  });
});
