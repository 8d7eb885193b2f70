// template.yaml's policies, as tools/iam/policies.py expands them, against calls shaped exactly
// as crates/aws/src/dynamodb/ makes them on the paths a run of the suite may not take (a
// probe counted, a bouncing address kept by an upsert, a reminder's code saved by the sweeper): the
// denials issue #26 found stay fixed, and each fix grants no more than its call (a neighbour of
// it is still denied).

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';

import { judgeCalls } from '../../tools/iam/judge.mjs';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const python = join(ROOT, '.tools', 'venv', 'bin', 'python');
assert.ok(existsSync(python), `${python} is missing: run scripts/install-tools`);
const policies = JSON.parse(execFileSync(python, [join(ROOT, 'tools', 'iam', 'policies.py'), join(ROOT, 'template.yaml')], { encoding: 'utf8' }));
const S = (value) => ({ S: value });

async function verdicts(calls) {
  const result = await judgeCalls(calls, policies);
  return calls.map((call) => {
    const entry = result.functions[call.who];
    const judged = entry.judged.filter((j) => j.call === call);
    assert.ok(judged.length, `no IAM request for ${call.operation}`);
    return judged.every((j) => j.verdict.allowed) ? 'allowed' : 'denied';
  });
}

const update = (who, pk, sk) => ({ who, operation: 'DynamoDB_20120810.UpdateItem', request: { TableName: 'contacts-test-x', Key: { pk: S(pk), sk: S(sk) }, ReturnConsumedCapacity: 'TOTAL' } });
const issueToken = (who, pk) => ({
  who,
  operation: 'DynamoDB_20120810.TransactWriteItems',
  request: {
    TransactItems: [
      { ConditionCheck: { TableName: 'contacts-test-x', Key: { pk: S(pk), sk: S('REQUEST') }, ConditionExpression: '#v = :v' } },
      { Put: { TableName: 'contacts-test-x', Item: { pk: S(pk), sk: S('TOKEN#ne4000-ovh') } } },
    ],
  },
});

// The sweeper's purge of a request past its retention (crates/aws/src/dynamodb/retention.rs), as
// it calls: the due index's purge bucket (keys only), the request's partition, one transaction of
// deletes (its items, a copy, an event) and one removing its entry of the ASKS# record.
const purge = (who) => [
  {
    who,
    operation: 'DynamoDB_20120810.Query',
    request: { TableName: 'contacts-test-x', IndexName: 'due', KeyConditionExpression: '#pk = :pk AND #sk < :before', ProjectionExpression: '#key, #sort' },
  },
  { who, operation: 'DynamoDB_20120810.Query', request: { TableName: 'contacts-test-x', KeyConditionExpression: '#pk = :pk', ConsistentRead: true } },
  {
    who,
    operation: 'DynamoDB_20120810.TransactWriteItems',
    request: {
      TransactItems: [
        { Delete: { TableName: 'contacts-test-x', Key: { pk: S('ACCOUNT#ne4000-ovh'), sk: S('REQUEST#01J') } } },
        { Delete: { TableName: 'contacts-test-x', Key: { pk: S('EVENT#01J-3-0'), sk: S('EVENT') } } },
        { Delete: { TableName: 'contacts-test-x', Key: { pk: S('REQUEST#01J'), sk: S('MAIL#0000000003#00') } } },
        { Delete: { TableName: 'contacts-test-x', Key: { pk: S('BATCH#01K'), sk: S('BATCH') } } },
        { Delete: { TableName: 'contacts-test-x', Key: { pk: S('REQUEST#01J'), sk: S('REQUEST') } } },
      ],
    },
  },
  {
    who,
    operation: 'DynamoDB_20120810.TransactWriteItems',
    request: {
      TransactItems: [
        { Update: { TableName: 'contacts-test-x', Key: { pk: S('ACCOUNT#ad1000-ovh'), sk: S('ASKS#ne4000-ovh') }, UpdateExpression: 'REMOVE #at', ConditionExpression: 'attribute_exists(#pk)' } },
      ],
    },
  },
];

describe("template.yaml's policies as deployed", () => {
  test('the expansion has every function, the table, its stream and the mappings', () => {
    assert.deepEqual(Object.keys(policies.functions).sort(), [
      'BouncesFunction', 'ConfirmFunction', 'CreateFunction', 'MailerFunction', 'PanelFunction', 'ProfileFunction',
      'ProviderFunction', 'PublisherFunction', 'ReadFunction', 'ResendFunction', 'SweeperFunction',
    ]);
    assert.equal(policies.tables.ContactsTable.arn, `arn:aws:dynamodb:${policies.region}:123456789012:table/ContactsTable`);
    assert.deepEqual(policies.eventSourceMappings.map((m) => m.function).sort(), ['MailerFunction', 'PublisherFunction']);
    assert.deepEqual(policies.functions.PanelFunction.policies, [], 'the panel has no permission beyond its logs');
  });

  test("create counts a probe on the caller's window item, and on no other partition outside a transaction", async () => {
    const probe = { ...update('CreateFunction', 'ATTEMPTS#probe#ad1000-ovh', 'WINDOW#2026-12-06T18'), request: { ...update('CreateFunction', 'ATTEMPTS#probe#ad1000-ovh', 'W').request, ReturnValues: 'UPDATED_NEW' } };
    const others = ['ACCOUNT#ad1000-ovh', 'ATTEMPTS#ad1000-ovh', 'ATTEMPTS#account#ad1000-ovh'].map((pk) => update('CreateFunction', pk, 'W'));
    assert.deepEqual(await verdicts([probe, ...others]), ['allowed', 'denied', 'denied', 'denied']);
  });

  test("the provider's upsert marks a kept bouncing address again, on account items only", async () => {
    assert.deepEqual(await verdicts([update('ProviderFunction', 'ACCOUNT#ad1000-ovh', 'PROFILE'), update('ProviderFunction', 'REQUEST#01J', 'REQUEST')]), ['allowed', 'denied']);
  });

  test("the mailer's and the sweeper's issue_token (a ConditionCheck of the request beside the token's Put) is allowed, on request partitions only", async () => {
    const calls = ['MailerFunction', 'SweeperFunction'].flatMap((who) => [issueToken(who, 'REQUEST#01J'), issueToken(who, 'ACCOUNT#ad1000-ovh')]);
    assert.deepEqual(await verdicts(calls), ['allowed', 'denied', 'allowed', 'denied']);
  });

  test("the sweeper may purge what is past its retention (SPEC §8), and a function that serves the API may not", async () => {
    assert.deepEqual(await verdicts(purge('SweeperFunction')), ['allowed', 'allowed', 'allowed', 'allowed']);
    assert.deepEqual(await verdicts(purge('ReadFunction')).then((v) => v.slice(2)), ['denied', 'denied']);
  });

  test("Lambda's pollers of MailerStream and PublisherStream may list, describe and read the stream", async () => {
    const result = await judgeCalls([], policies);
    for (const id of ['MailerFunction', 'PublisherFunction']) {
      assert.deepEqual(result.functions[id].denied.map((d) => d.request.action), [], id);
      assert.ok(result.functions[id].judged.some((j) => j.request.action === 'dynamodb:ListStreams' && j.verdict.allowed), id);
    }
  });
});
