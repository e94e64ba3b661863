/**
 * An upstream made of a raw TCP server that keeps the exact bytes of every connection and reads
 * them as a strict HTTP/1.1 server would: each request framed by `Content-Length`, by chunked
 * coding, or with no body, and everything that does not parse as a request kept as it is. The
 * request-framing tests compare what it saw with what the client sent. A request whose target
 * contains `/early` is answered as soon as its header section arrives, before its body (as an
 * API that refuses an upload early does); one whose target contains `/hold` is never answered.
 * Test-only.
 *
 * @see RFC 9112 §2–§7 (message format, framing, chunked coding)
 */
import net, { type AddressInfo } from 'node:net';

export interface SeenRequest {
  readonly method: string;
  readonly target: string;
  /** Field names lower-cased; a repeated field's values joined with `, `. */
  readonly headers: Readonly<Record<string, string>>;
  readonly body: Buffer;
  readonly framing: 'none' | 'length' | 'chunked';
}

export interface SeenConnection {
  readonly requests: SeenRequest[];
  /** Bytes that were not a request (or a request's unparseable start): none, when framing holds. */
  garbage: Buffer;
  /** Bytes of a request not (yet) complete: on an open connection, still waiting for the rest. */
  incomplete: Buffer;
  closed: boolean;
}

export interface RawUpstream {
  readonly origin: string;
  readonly connections: SeenConnection[];
  /** Every complete request, across connections, in arrival order per connection. */
  requests(): SeenRequest[];
  close(): Promise<void>;
}

const CRLF = Buffer.from('\r\n');
const HEADER_END = Buffer.from('\r\n\r\n');
const REQUEST_LINE = /^([!#$%&'*+.^_`|~0-9A-Za-z-]+) (\S+) HTTP\/1\.[01]$/;
const FIELD = /^([!#$%&'*+.^_`|~0-9A-Za-z-]+):[ \t]*(.*?)[ \t]*$/;

type Parsed = { request: SeenRequest; used: number } | 'more' | 'garbage';

/** One request from the start of `buf`, or `'more'` when it is not all there yet. */
function parseRequest(buf: Buffer): Parsed {
  const headEnd = buf.indexOf(HEADER_END);
  if (headEnd < 0) return buf.length > 64 * 1024 ? 'garbage' : 'more';
  const lines = buf.subarray(0, headEnd).toString('latin1').split('\r\n');
  const line = REQUEST_LINE.exec(lines[0] ?? '');
  if (!line) return 'garbage';
  const headers: Record<string, string> = {};
  for (const fieldLine of lines.slice(1)) {
    const field = FIELD.exec(fieldLine);
    if (!field) return 'garbage';
    const name = (field[1] as string).toLowerCase();
    headers[name] = headers[name] === undefined ? (field[2] as string) : `${headers[name]}, ${field[2]}`;
  }
  const bodyStart = headEnd + HEADER_END.length;
  const head = { method: line[1] as string, target: line[2] as string, headers };
  const te = headers['transfer-encoding'];
  const cl = headers['content-length'];
  if (te !== undefined) {
    if (cl !== undefined || te.toLowerCase() !== 'chunked') return 'garbage';
    return parseChunked(buf, bodyStart, head);
  }
  if (cl !== undefined) {
    if (!/^[0-9]+$/.test(cl)) return 'garbage';
    const end = bodyStart + Number(cl);
    if (buf.length < end) return 'more';
    return { request: { ...head, body: buf.subarray(bodyStart, end), framing: 'length' }, used: end };
  }
  return { request: { ...head, body: Buffer.alloc(0), framing: 'none' }, used: bodyStart };
}

function parseChunked(buf: Buffer, start: number, head: Omit<SeenRequest, 'body' | 'framing'>): Parsed {
  const chunks: Buffer[] = [];
  let at = start;
  for (;;) {
    const lineEnd = buf.indexOf(CRLF, at);
    if (lineEnd < 0) return 'more';
    const sizeText = buf.subarray(at, lineEnd).toString('latin1').split(';')[0] ?? '';
    if (!/^[0-9a-fA-F]+$/.test(sizeText)) return 'garbage';
    const size = Number.parseInt(sizeText, 16);
    at = lineEnd + CRLF.length;
    if (size === 0) {
      // Trailer section, then the empty line.
      for (;;) {
        const end = buf.indexOf(CRLF, at);
        if (end < 0) return 'more';
        const empty = end === at;
        at = end + CRLF.length;
        if (empty) return { request: { ...head, body: Buffer.concat(chunks), framing: 'chunked' }, used: at };
      }
    }
    if (buf.length < at + size + CRLF.length) return 'more';
    chunks.push(buf.subarray(at, at + size));
    if (!buf.subarray(at + size, at + size + CRLF.length).equals(CRLF)) return 'garbage';
    at += size + CRLF.length;
  }
}

export async function startRawUpstream(): Promise<RawUpstream> {
  const connections: SeenConnection[] = [];
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    const seen: SeenConnection = {
      requests: [],
      garbage: Buffer.alloc(0),
      incomplete: Buffer.alloc(0),
      closed: false,
    };
    connections.push(seen);
    let pending = Buffer.alloc(0);
    let continued = false;
    let answeredEarly = false;
    const answer = (method: string) =>
      socket.write(
        `HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: 2\r\n\r\n${method === 'HEAD' ? '' : 'ok'}`,
      );
    socket.on('data', (data: Buffer) => {
      if (seen.garbage.length > 0) {
        seen.garbage = Buffer.concat([seen.garbage, data]);
        return;
      }
      pending = Buffer.concat([pending, data]);
      for (;;) {
        const parsed = parseRequest(pending);
        if (parsed === 'more') {
          seen.incomplete = pending;
          const head = pending.indexOf(HEADER_END);
          const line = head >= 0 ? pending.subarray(0, pending.indexOf(CRLF)).toString('latin1') : '';
          if (!answeredEarly && line.includes('/early')) {
            answeredEarly = true;
            answer(line.split(' ')[0] ?? '');
          }
          // A client waiting on `Expect: 100-continue` gets its interim answer once.
          if (
            !continued &&
            head >= 0 &&
            /\r\nexpect:\s*100-continue/i.test(pending.subarray(0, head).toString())
          ) {
            continued = true;
            socket.write('HTTP/1.1 100 Continue\r\n\r\n');
          }
          return;
        }
        if (parsed === 'garbage') {
          seen.garbage = pending;
          pending = Buffer.alloc(0);
          socket.end('HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\nconnection: close\r\n\r\n');
          return;
        }
        seen.requests.push(parsed.request);
        pending = pending.subarray(parsed.used);
        seen.incomplete = pending;
        continued = false;
        if (answeredEarly) answeredEarly = false;
        else if (!parsed.request.target.includes('/hold')) answer(parsed.request.method);
      }
    });
    socket.on('error', () => {
      // A proxy that tears a request down resets the connection: what it sent is already kept.
    });
    socket.on('close', () => {
      seen.closed = true;
      seen.incomplete = pending;
      sockets.delete(socket);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    origin: `http://127.0.0.1:${port}`,
    connections,
    requests: () => connections.flatMap((c) => c.requests),
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
