// The AWS call recorder of the IAM judge (tests/iam/): one HTTP port on 127.0.0.1 that every
// bootstrap under test uses as its DynamoDB, SES v2 and EventBridge endpoint. Each request is
// forwarded unchanged (method, path, headers including Host, body) to the emulator of the
// service its SigV4 `Authorization` header names in its credential scope, the answer streamed
// back as it comes, and one JSON line per call appended to the log: who (the access key id, which
// each bootstrap sets to its template logical id), the service, the operation, the request body
// parsed, the status and the error's type. tools/iam/judge.mjs turns those lines into the IAM
// requests AWS would evaluate.
//
// Node's standard library only. Started by scripts/emulators (start_recorder):
//   node tools/iam/recorder.mjs --port N --log FILE
// with AWS_ENDPOINT_URL_DYNAMODB (DynamoDB Local: the table API and the Streams API),
// AWS_ENDPOINT_URL_SESV2 (the SES v2 emulator) and MOTO_URL (EventBridge) in its environment.
// A request for any other service (or unsigned) gets a 502 that says why, and is recorded too.

import { appendFileSync } from 'node:fs';
import http from 'node:http';
import { parseArgs } from 'node:util';

/** `AWS4-HMAC-SHA256 Credential=KEY/DATE/REGION/SERVICE/aws4_request, ...` -> its parts. */
export function credentialScope(authorization) {
  const match = /Credential=([^/,\s]+)\/(\d{8})\/([^/]+)\/([^/]+)\/aws4_request/.exec(authorization ?? '');
  if (!match) return null;
  return { accessKeyId: match[1], region: match[3], service: match[4] };
}

/** The upstream URL of `service` (a SigV4 credential scope's service), or null. */
export function upstreamFor(service, env = process.env) {
  switch (service) {
    case 'dynamodb': // the table API and DynamoDBStreams_20120810.* alike
      return env.AWS_ENDPOINT_URL_DYNAMODB || null;
    case 'ses':
      return env.AWS_ENDPOINT_URL_SESV2 || null;
    case 'events':
      return env.MOTO_URL || null;
    default:
      return null;
  }
}

/** The operation a request names: `X-Amz-Target` (JSON protocols: DynamoDB, Streams,
 * EventBridge), else the REST method and path (SES v2), without the query. */
export function operationOf(method, path, headers) {
  const target = headers['x-amz-target'];
  if (target) return String(target);
  return `${method} ${path.split('?')[0]}`;
}

function parseBody(buffer) {
  if (!buffer.length) return null;
  try {
    return JSON.parse(buffer.toString('utf8'));
  } catch {
    return { unparsed: buffer.toString('utf8').slice(0, 2000) };
  }
}

/** The error type an AWS JSON or REST-JSON answer carries (`__type`, or SES v2's header). */
function errorOf(status, headers, body) {
  if (status < 400) return null;
  const header = headers['x-amzn-errortype'];
  if (header) return String(header).split(':')[0];
  try {
    const parsed = JSON.parse(body);
    const type = parsed.__type ?? parsed.code ?? parsed.Code ?? parsed.message;
    return type ? String(type).split('#').pop() : `HTTP ${status}`;
  } catch {
    return `HTTP ${status}`;
  }
}

export function startRecorder({ port = 0, host = '127.0.0.1', log, env = process.env }) {
  let seq = 0;
  const record = (entry) => appendFileSync(log, `${JSON.stringify(entry)}\n`);
  const server = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (chunk) => chunks.push(chunk));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const scope = credentialScope(req.headers.authorization);
      const entry = {
        seq: ++seq,
        at: new Date().toISOString(),
        who: scope?.accessKeyId ?? null,
        service: scope?.service ?? null,
        region: scope?.region ?? null,
        operation: operationOf(req.method, req.url, req.headers),
        method: req.method,
        path: req.url,
        request: parseBody(body),
      };
      const upstream = scope && upstreamFor(scope.service, env);
      if (!upstream) {
        const why = scope
          ? `the IAM recorder forwards dynamodb, ses and events only (and only to an endpoint it was given): no upstream for service '${scope.service}'`
          : 'the IAM recorder forwards SigV4-signed requests only: no Credential scope in the Authorization header';
        entry.status = 502;
        entry.error = 'RecorderNoUpstream';
        entry.why = why;
        record(entry);
        res.writeHead(502, { 'content-type': 'text/plain; charset=utf-8' });
        res.end(`${why}\n`);
        return;
      }
      const target = new URL(req.url, upstream);
      const forward = http.request(
        { host: target.hostname, port: target.port, method: req.method, path: req.url, headers: req.headers },
        (answer) => {
          res.writeHead(answer.statusCode, answer.rawHeaders);
          const head = [];
          let kept = 0;
          answer.on('data', (chunk) => {
            // The start of an error's answer is kept for its type; the answer itself streams on.
            if (answer.statusCode >= 400 && kept < 4096) {
              head.push(chunk);
              kept += chunk.length;
            }
          });
          answer.pipe(res);
          answer.on('end', () => {
            entry.status = answer.statusCode;
            entry.error = errorOf(answer.statusCode, answer.headers, Buffer.concat(head).toString('utf8'));
            record(entry);
          });
        },
      );
      forward.on('error', (error) => {
        entry.status = 502;
        entry.error = 'RecorderUpstreamUnreachable';
        entry.why = `${upstream}: ${error.message}`;
        record(entry);
        if (!res.headersSent) res.writeHead(502, { 'content-type': 'text/plain; charset=utf-8' });
        res.end(`the IAM recorder could not reach ${upstream}: ${error.message}\n`);
      });
      forward.end(body);
    });
  });
  server.keepAliveTimeout = 60_000;
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve(server));
  });
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { values } = parseArgs({ options: { port: { type: 'string', default: '0' }, log: { type: 'string' } } });
  if (!values.log) {
    console.error('usage: recorder.mjs --port N --log FILE');
    process.exit(2);
  }
  const server = await startRecorder({ port: Number(values.port), log: values.log });
  const { port } = server.address();
  console.log(`IAM recorder on http://127.0.0.1:${port}, log ${values.log}`);
  for (const signal of ['SIGTERM', 'SIGINT']) process.on(signal, () => server.close(() => process.exit(0)));
}
