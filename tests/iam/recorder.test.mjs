// The call recorder (tools/iam/recorder.mjs) between a SigV4 client and fake upstreams: each
// request goes unchanged to the upstream of its credential scope's service, the answer comes
// back as it is, and each call is one JSON line of the log; a service it has no upstream for is
// a 502 that says why, recorded too.

import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';

import { credentialScope, startRecorder } from '../../tools/iam/recorder.mjs';

const seen = [];
let upstream;
let recorder;
let base;
const log = join(mkdtempSync(join(tmpdir(), 'iam-recorder-')), 'calls.jsonl');

before(async () => {
  upstream = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      seen.push({ method: req.method, url: req.url, headers: req.headers, body: Buffer.concat(chunks).toString() });
      if (req.headers['x-amz-target']?.endsWith('.PutItem')) {
        res.writeHead(400, { 'content-type': 'application/x-amz-json-1.0' });
        res.end(JSON.stringify({ __type: 'com.amazonaws.dynamodb.v20120810#ConditionalCheckFailedException', message: 'no' }));
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json', 'x-upstream': req.headers.host });
      res.end(JSON.stringify({ answered: req.url }));
    });
  });
  await new Promise((resolve) => upstream.listen(0, '127.0.0.1', resolve));
  const at = `http://127.0.0.1:${upstream.address().port}`;
  recorder = await startRecorder({ port: 0, log, env: { AWS_ENDPOINT_URL_DYNAMODB: at, AWS_ENDPOINT_URL_SESV2: at, MOTO_URL: at } });
  base = `http://127.0.0.1:${recorder.address().port}`;
});

after(() => {
  recorder?.close();
  upstream?.close();
});

const auth = (key, service) => `AWS4-HMAC-SHA256 Credential=${key}/20261206/eu-west-1/${service}/aws4_request, SignedHeaders=host;x-amz-date, Signature=abc`;
const calls = () => readFileSync(log, 'utf8').trim().split('\n').map((l) => JSON.parse(l));

test('the credential scope names the caller and the service', () => {
  assert.deepEqual(credentialScope(auth('MailerFunction', 'dynamodb')), { accessKeyId: 'MailerFunction', region: 'eu-west-1', service: 'dynamodb' });
  assert.equal(credentialScope('Bearer x'), null);
});

test('a DynamoDB call is forwarded unchanged, answered as the upstream answered, and recorded with its caller', async () => {
  const body = JSON.stringify({ TableName: 'contacts-test-a', Key: { pk: { S: 'REQUEST#1' } } });
  const response = await fetch(`${base}/`, {
    method: 'POST',
    headers: { authorization: auth('MailerFunction', 'dynamodb'), 'x-amz-target': 'DynamoDB_20120810.GetItem', 'content-type': 'application/x-amz-json-1.0' },
    body,
  });
  assert.equal(response.status, 200);
  assert.equal(response.headers.get('x-upstream'), new URL(base).host, 'the Host header is forwarded unchanged');
  assert.deepEqual(await response.json(), { answered: '/' });
  const forwarded = seen.at(-1);
  assert.equal(forwarded.body, body);
  assert.equal(forwarded.headers.authorization, auth('MailerFunction', 'dynamodb'));
  const call = calls().at(-1);
  assert.deepEqual(
    [call.who, call.service, call.operation, call.status, call.request.Key.pk.S],
    ['MailerFunction', 'dynamodb', 'DynamoDB_20120810.GetItem', 200, 'REQUEST#1'],
  );
});

test("an error's type is recorded, and the answer still reaches the caller", async () => {
  const response = await fetch(`${base}/`, { method: 'POST', headers: { authorization: auth('CreateFunction', 'dynamodb'), 'x-amz-target': 'DynamoDB_20120810.PutItem' }, body: '{}' });
  assert.equal(response.status, 400);
  assert.match(await response.text(), /ConditionalCheckFailedException/);
  assert.equal(calls().at(-1).error, 'ConditionalCheckFailedException');
});

test("SES v2's REST call is recorded by its method and path", async () => {
  await fetch(`${base}/v2/email/outbound-emails`, { method: 'POST', headers: { authorization: auth('MailerFunction', 'ses') }, body: JSON.stringify({ FromEmailAddress: 'a@b.c' }) });
  const call = calls().at(-1);
  assert.deepEqual([call.service, call.operation, call.request.FromEmailAddress], ['ses', 'POST /v2/email/outbound-emails', 'a@b.c']);
});

test('a service it has no upstream for gets a 502 that says why, recorded', async () => {
  const response = await fetch(`${base}/`, { method: 'POST', headers: { authorization: auth('MailerFunction', 's3') }, body: '' });
  assert.equal(response.status, 502);
  assert.match(await response.text(), /no upstream for service 's3'/);
  const call = calls().at(-1);
  assert.deepEqual([call.who, call.status, call.error], ['MailerFunction', 502, 'RecorderNoUpstream']);
  const unsigned = await fetch(`${base}/`, { method: 'POST', body: '' });
  assert.equal(unsigned.status, 502);
  assert.match(await unsigned.text(), /SigV4-signed requests only/);
});
