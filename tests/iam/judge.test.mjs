// The IAM judge on small synthetic calls: the mapping of each call to the IAM requests AWS
// evaluates, and the verdicts, including calls that must be denied (the judge is shown able to
// fail). The policies here are written out, not taken from template.yaml: the statements named
// "main's" are those main had before issue #26, kept to show what the judge said of them.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { iamRequests, impliedCalls, judgeCalls, judgeRequest, keyConditionValue, report, worldOf } from '../../tools/iam/judge.mjs';

const TABLE = 'arn:aws:dynamodb:eu-west-1:123456789012:table/ContactsTable';
const STREAM = `${TABLE}/stream/2026-01-01T00:00:00.000`;
const BUS = 'arn:aws:events:eu-west-1:123456789012:event-bus/service-contacts-contacts';
const S = (value) => ({ S: value });

const inTransactions = { 'ForAnyValue:StringEquals': { 'dynamodb:EnclosingOperation': ['TransactWriteItems'] } };
const onPartitions = (...prefixes) => ({ 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': prefixes } });

/** A policies.json (tools/iam/policies.py's shape) with the functions given as statements. */
function policiesWith(functions) {
  return {
    account: '123456789012',
    region: 'eu-west-1',
    parameters: { MailFrom: 'no-reply@contacts.example.com', SesIdentity: '' },
    tables: { ContactsTable: { name: 'ContactsTable', arn: TABLE, streamArn: STREAM, partitionKey: 'pk', indexes: { due: 'due_pk', by_email: 'email_key' } } },
    eventSourceMappings: [],
    functions: Object.fromEntries(
      Object.entries(functions).map(([id, statements]) => [
        id,
        {
          role: `${id}Role`,
          policies: [{ name: `${id}RolePolicy0`, document: { Statement: statements } }],
          managedPolicyArns: [],
          environment: { TABLE_NAME: 'ContactsTable', MAIL_FROM: 'no-reply@contacts.example.com', EVENT_BUS_NAME: 'service-contacts-contacts' },
        },
      ]),
    ),
  };
}

// main's mailer before #26: no ConditionCheckItem, ListStreams on the stream's ARN.
const MAINS_MAILER = [
  { Sid: 'RequestsMailsAndRecipientsOnly', Effect: 'Allow', Action: ['dynamodb:GetItem', 'dynamodb:Query', 'dynamodb:BatchGetItem', 'dynamodb:UpdateItem'], Resource: TABLE, Condition: onPartitions('REQUEST#*', 'ACCOUNT#*') },
  { Sid: 'TokensAndHistoryInTransactionsOnly', Effect: 'Allow', Action: ['dynamodb:PutItem', 'dynamodb:DeleteItem'], Resource: TABLE, Condition: inTransactions },
  { Sid: 'ReadTheTablesStream', Effect: 'Allow', Action: ['dynamodb:DescribeStream', 'dynamodb:GetRecords', 'dynamodb:GetShardIterator', 'dynamodb:ListStreams'], Resource: `${TABLE}/stream/*` },
];
const FIXED_CHECK = { Sid: 'CheckInTransactionsOnly', Effect: 'Allow', Action: 'dynamodb:ConditionCheckItem', Resource: TABLE, Condition: inTransactions };

const issueToken = {
  seq: 1,
  who: 'MailerFunction',
  operation: 'DynamoDB_20120810.TransactWriteItems',
  request: {
    TransactItems: [
      { Update: { TableName: 'contacts-test-a', Key: { pk: S('REQUEST#r1'), sk: S('MAIL#2#0') } } },
      { Put: { TableName: 'contacts-test-a', Item: { pk: S('REQUEST#r1'), sk: S('TOKEN#h') } } },
      { ConditionCheck: { TableName: 'contacts-test-a', Key: { pk: S('REQUEST#r1'), sk: S('REQUEST') }, ConditionExpression: '#v = :v' } },
    ],
  },
};

describe('the mapping of a call to the IAM requests AWS evaluates', () => {
  const world = worldOf(policiesWith({ MailerFunction: [] }), 'MailerFunction');

  test('each item of a TransactWriteItems is its own action, with EnclosingOperation, on the template table', () => {
    const { requests } = iamRequests(issueToken, world);
    assert.deepEqual(
      requests.map((r) => [r.action, r.resource, r.context['dynamodb:EnclosingOperation'], r.context['dynamodb:LeadingKeys']]),
      [
        ['dynamodb:UpdateItem', TABLE, 'TransactWriteItems', ['REQUEST#r1']],
        ['dynamodb:PutItem', TABLE, 'TransactWriteItems', ['REQUEST#r1']],
        ['dynamodb:ConditionCheckItem', TABLE, 'TransactWriteItems', ['REQUEST#r1']],
      ],
    );
  });

  test('a Query of an index is on table/T/index/I with the index key the condition binds; of the table, its partition', () => {
    const byEmail = { who: 'x', operation: 'DynamoDB_20120810.Query', request: { TableName: 't', IndexName: 'by_email', KeyConditionExpression: '#k = :k', ExpressionAttributeNames: { '#k': 'email_key' }, ExpressionAttributeValues: { ':k': S('ada@example.com') } } };
    const [index] = iamRequests(byEmail, world).requests;
    assert.equal(index.resource, `${TABLE}/index/by_email`);
    assert.deepEqual(index.context['dynamodb:LeadingKeys'], ['ada@example.com']);
    const partition = { who: 'x', operation: 'DynamoDB_20120810.Query', request: { TableName: 't', KeyConditionExpression: '#pk = :pk AND begins_with(#sk, :p)', ExpressionAttributeNames: { '#pk': 'pk', '#sk': 'sk' }, ExpressionAttributeValues: { ':pk': S('REQUEST#r1'), ':p': S('MAIL#') } } };
    const [table] = iamRequests(partition, world).requests;
    assert.equal(table.resource, TABLE);
    assert.deepEqual(table.context['dynamodb:LeadingKeys'], ['REQUEST#r1']);
    assert.equal(keyConditionValue('pk = :a', {}, { ':a': S('X') }, 'pk'), 'X');
  });

  test('a BatchGetItem is one request per table with every partition it reads', () => {
    const call = { who: 'x', operation: 'DynamoDB_20120810.BatchGetItem', request: { RequestItems: { 'contacts-test-a': { Keys: [{ pk: S('ACCOUNT#b'), sk: S('PROFILE') }, { pk: S('ACCOUNT#a'), sk: S('PROFILE') }, { pk: S('ACCOUNT#a'), sk: S('ASKS#b') }] } } } };
    const { requests } = iamRequests(call, world);
    assert.equal(requests.length, 1);
    assert.deepEqual(requests[0].context['dynamodb:LeadingKeys'], ['ACCOUNT#a', 'ACCOUNT#b']);
  });

  test('the Streams API: DescribeStream on the stream, ListStreams on * only', () => {
    const describe = iamRequests({ who: 'x', operation: 'DynamoDBStreams_20120810.DescribeStream', request: { StreamArn: 'arn:aws:dynamodb:ddblocal:000000000000:table/contacts-test-a/stream/2026' } }, world).requests[0];
    assert.deepEqual([describe.action, describe.resource], ['dynamodb:DescribeStream', STREAM]);
    const list = iamRequests({ who: 'x', operation: 'DynamoDBStreams_20120810.ListStreams', request: {} }, world).requests[0];
    assert.deepEqual([list.action, list.resource], ['dynamodb:ListStreams', '*']);
  });

  test("SES v2 SendEmail is ses:SendEmail on MailFrom's domain identity, and on the configuration set when one is named", () => {
    const call = { who: 'x', operation: 'POST /v2/email/outbound-emails', request: { FromEmailAddress: 'no-reply@contacts.example.com', Destination: { ToAddresses: ['ada@example.com'] }, ConfigurationSetName: 'cs' } };
    const requests = iamRequests(call, world).requests;
    assert.deepEqual(
      requests.map((r) => r.resource),
      ['arn:aws:ses:eu-west-1:123456789012:identity/contacts.example.com', 'arn:aws:ses:eu-west-1:123456789012:configuration-set/cs'],
    );
    assert.deepEqual(requests[0].context, { 'ses:FromAddress': 'no-reply@contacts.example.com', 'ses:Recipients': ['ada@example.com'], 'ses:ApiVersion': '2' });
  });

  test("PutEvents is one events:PutEvents per entry on the function's bus, with the entry's source and detail type", () => {
    const call = { who: 'x', operation: 'AWSEvents.PutEvents', request: { Entries: [{ EventBusName: 'test-bus-1', Source: 'service-contacts', DetailType: 'ContactChangeDone' }] } };
    const [request] = iamRequests(call, world).requests;
    assert.deepEqual([request.action, request.resource, request.context], ['events:PutEvents', BUS, { 'events:source': 'service-contacts', 'events:detail-type': 'ContactChangeDone' }]);
  });

  test('an operation the judge does not know is reported, never silently allowed', () => {
    const { requests, unknown } = iamRequests({ who: 'x', operation: 'DynamoDB_20120810.ExecuteStatement', request: {} }, world);
    assert.equal(requests.length, 0);
    assert.match(unknown, /ExecuteStatement/);
  });

  test("an event source mapping implies Lambda's stream reads and the on-failure SendMessage with the function's role", () => {
    const policies = { ...policiesWith({ MailerFunction: [] }), eventSourceMappings: [{ logicalId: 'MailerStream', function: 'MailerFunction', eventSourceArn: STREAM, onFailure: 'arn:aws:sqs:eu-west-1:123456789012:Dlq' }] };
    assert.deepEqual(
      impliedCalls(policies).map((c) => c.operation),
      ['DynamoDBStreams_20120810.DescribeStream', 'DynamoDBStreams_20120810.GetShardIterator', 'DynamoDBStreams_20120810.GetRecords', 'DynamoDBStreams_20120810.ListStreams', 'sqs.SendMessage'],
    );
  });
});

describe('the verdicts', () => {
  test("main's mailer policy denies issue_token's ConditionCheck, and names what is missing", async () => {
    const result = await judgeCalls([issueToken], policiesWith({ MailerFunction: MAINS_MAILER }));
    const mailer = result.functions.MailerFunction;
    assert.deepEqual(
      mailer.denied.map((d) => d.request.action),
      ['dynamodb:ConditionCheckItem'],
    );
    assert.match(mailer.denied[0].missing, /no statement allows dynamodb:ConditionCheckItem/);
    assert.match(report(result), /MailerFunction: DENIED dynamodb:ConditionCheckItem on arn:aws:dynamodb:eu-west-1:123456789012:table\/ContactsTable/);
  });

  test("ConditionCheckItem granted in transactions only: strict iam-simulate denies (its data drops EnclosingOperation), AWS's docs allow, and the docs count", async () => {
    const policies = policiesWith({ MailerFunction: [...MAINS_MAILER, FIXED_CHECK] });
    const [, , check] = iamRequests(issueToken, worldOf(policies, 'MailerFunction')).requests;
    const verdict = await judgeRequest(check, policies.functions.MailerFunction, policies.account);
    assert.equal(verdict.strict, 'ImplicitlyDenied');
    assert.equal(verdict.documented, 'Allowed');
    assert.ok(verdict.ignoredKeys.includes('dynamodb:EnclosingOperation'));
    assert.equal(verdict.allowed, true);
    // Out of a transaction the same grant must not hold, by either verdict.
    const alone = { ...check, context: { 'dynamodb:LeadingKeys': ['REQUEST#r1'] } };
    assert.equal((await judgeRequest(alone, policies.functions.MailerFunction, policies.account)).allowed, false);
  });

  test("ListStreams granted on the stream's ARN is denied: it takes only *", async () => {
    const policies = { ...policiesWith({ MailerFunction: MAINS_MAILER }), eventSourceMappings: [{ logicalId: 'MailerStream', function: 'MailerFunction', eventSourceArn: STREAM, onFailure: null }] };
    const mailer = (await judgeCalls([], policies)).functions.MailerFunction;
    assert.deepEqual(mailer.denied.map((d) => d.request.action), ['dynamodb:ListStreams']);
    assert.match(mailer.denied[0].missing, /takes no resource but \*/);
    const fixed = policiesWith({ MailerFunction: [...MAINS_MAILER, { Sid: 'ListStreams', Effect: 'Allow', Action: 'dynamodb:ListStreams', Resource: '*' }] });
    fixed.eventSourceMappings = policies.eventSourceMappings;
    assert.deepEqual((await judgeCalls([], fixed)).functions.MailerFunction.denied, []);
  });

  test("an UpdateItem outside a transaction is denied by a grant in transactions only, allowed by one on the counter's partition", async () => {
    const lookupMiss = { seq: 2, who: 'CreateFunction', operation: 'DynamoDB_20120810.UpdateItem', request: { TableName: 't', Key: { pk: S('MISSES#a#2026-12-06'), sk: S('MISSES') } } };
    const inTx = [{ Sid: 'WriteInTransactionsOnly', Effect: 'Allow', Action: 'dynamodb:UpdateItem', Resource: TABLE, Condition: inTransactions }];
    assert.equal((await judgeCalls([lookupMiss], policiesWith({ CreateFunction: inTx }))).functions.CreateFunction.denied.length, 1);
    const counter = [...inTx, { Sid: 'CountMisses', Effect: 'Allow', Action: 'dynamodb:UpdateItem', Resource: TABLE, Condition: onPartitions('MISSES#*') }];
    assert.equal((await judgeCalls([lookupMiss], policiesWith({ CreateFunction: counter }))).functions.CreateFunction.denied.length, 0);
    // The same grant does not reach another partition.
    const elsewhere = { ...lookupMiss, request: { ...lookupMiss.request, Key: { pk: S('ACCOUNT#a'), sk: S('PROFILE') } } };
    assert.equal((await judgeCalls([elsewhere], policiesWith({ CreateFunction: counter }))).functions.CreateFunction.denied.length, 1);
  });

  test("PutEvents with StringEquals on events:source: strict iam-simulate denies (it types the key as a list), AWS's docs allow; another source is denied by both", async () => {
    const statement = [{ Sid: 'PutOnTheBusOnly', Effect: 'Allow', Action: 'events:PutEvents', Resource: BUS, Condition: { StringEquals: { 'events:source': 'service-contacts' } } }];
    const policies = policiesWith({ PublisherFunction: statement });
    const ours = { who: 'PublisherFunction', operation: 'AWSEvents.PutEvents', request: { Entries: [{ EventBusName: 'b', Source: 'service-contacts', DetailType: 'ContactChangeDone' }] } };
    const theirs = { ...ours, request: { Entries: [{ EventBusName: 'b', Source: 'aws.ses', DetailType: 'x' }] } };
    const publisher = (await judgeCalls([ours, theirs], policies)).functions.PublisherFunction;
    const [good, bad] = publisher.judged.map((j) => j.verdict);
    assert.deepEqual([good.strict, good.documented, good.allowed], ['ImplicitlyDenied', 'Allowed', true]);
    assert.deepEqual([bad.strict, bad.documented, bad.allowed], ['ImplicitlyDenied', 'ImplicitlyDenied', false]);
  });

  test('SendEmail from an identity the policy does not name is denied', async () => {
    const statement = [{ Sid: 'Send', Effect: 'Allow', Action: 'ses:SendEmail', Resource: 'arn:aws:ses:eu-west-1:123456789012:identity/other.example.com' }];
    const call = { who: 'MailerFunction', operation: 'POST /v2/email/outbound-emails', request: { FromEmailAddress: 'no-reply@contacts.example.com', Destination: { ToAddresses: ['a@example.com'] } } };
    const mailer = (await judgeCalls([call], policiesWith({ MailerFunction: statement }))).functions.MailerFunction;
    assert.equal(mailer.denied.length, 1);
    assert.match(mailer.denied[0].missing, /not on arn:aws:ses:eu-west-1:123456789012:identity\/contacts.example.com/);
  });

  test('grants no call used are listed per statement, action and resource; calls of no function are counted apart', async () => {
    const statements = [{ Sid: 'Read', Effect: 'Allow', Action: ['dynamodb:GetItem', 'dynamodb:Query'], Resource: [TABLE, `${TABLE}/index/due`] }];
    const get = { who: 'ReadFunction', operation: 'DynamoDB_20120810.GetItem', request: { TableName: 't', Key: { pk: S('ACCOUNT#a'), sk: S('PROFILE') } } };
    const harness = { who: 'local', operation: 'DynamoDB_20120810.CreateTable', request: {} };
    const result = await judgeCalls([get, harness], policiesWith({ ReadFunction: statements }));
    assert.deepEqual(
      result.functions.ReadFunction.unused.map((u) => `${u.action} ${u.resource.replace(TABLE, 'T')}`),
      ['dynamodb:GetItem T/index/due', 'dynamodb:Query T', 'dynamodb:Query T/index/due'],
    );
    assert.deepEqual(result.others, { local: 1 });
  });
});
