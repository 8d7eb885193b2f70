// The IAM judge: every AWS call a function made in the tests (tools/iam/recorder.mjs's log),
// turned into the IAM requests AWS evaluates for it, each judged against that function's policies
// as deployed (tools/iam/policies.py's expansion of template.yaml) by an evaluator nobody here
// wrote, @cloud-copilot/iam-simulate (pinned in tools/package.json).
//
// How AWS authorises each call, and where this follows which page:
// - DynamoDB, one request per call on the table's ARN (or `table/T/index/I` for a Query or Scan
//   of an index), with the item's partition key values in `dynamodb:LeadingKeys`:
//   https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazondynamodb.html
//   https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/specifying-conditions.html
//   (for an index, the judge gives the index's partition key values: no policy here conditions
//   an index on them). BatchGetItem and BatchWriteItem: one request per table, with every key's
//   partition value (hence ForAllValues: in the policies).
// - TransactWriteItems and TransactGetItems: no action of their own; each item is authorised by
//   the action of its kind (Put -> dynamodb:PutItem, Update -> UpdateItem, Delete -> DeleteItem,
//   ConditionCheck -> dynamodb:ConditionCheckItem, Get -> GetItem), with
//   `dynamodb:EnclosingOperation` = TransactWriteItems / TransactGetItems:
//   https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/transaction-apis-iam.html
// - DynamoDB Streams: DescribeStream, GetShardIterator, GetRecords on the stream's ARN;
//   ListStreams has no resource type and takes `*` only (list_amazondynamodb above). Lambda polls
//   a stream for an event source mapping with the function's execution role (DescribeStream,
//   GetRecords, GetShardIterator, ListStreams) and sends a failed batch's record to an SQS
//   on-failure destination with sqs:SendMessage:
//   https://docs.aws.amazon.com/lambda/latest/dg/with-ddb.html (its execution role permissions),
//   https://docs.aws.amazon.com/aws-managed-policy/latest/reference/AWSLambdaDynamoDBExecutionRole.html
//   (the four stream actions, on "*"). The DynamoDB guide's own example
//   (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/iam-policy-example-lamda-process-dynamodb-streams.html)
//   puts ListStreams on `stream/*`, which the Service Authorization Reference does not allow: the
//   reference decides, as IAM does. These calls of the platform are judged from the template's
//   mappings (see `impliedCalls`).
// - SES v2 SendEmail: ses:SendEmail on the sending identity's ARN and, when the mail names a
//   configuration set, on the configuration set's ARN too; `ses:FromAddress`, `ses:Recipients`,
//   `ses:ApiVersion`: https://docs.aws.amazon.com/ses/latest/dg/control-user-access.html
//   https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonsimpleemailservicev2.html
//   The identity is the template's SesIdentity, else MailFrom's domain (as template.yaml says).
// - EventBridge PutEvents: events:PutEvents on each entry's bus, with `events:source` and
//   `events:detail-type` the entry's (single values, "events:source":"source"):
//   https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-use-conditions.html
//
// Where the evaluator's data and AWS's documentation disagree, the documentation decides and the
// output shows both verdicts (`DOCUMENTED_OVERRIDES`):
// - its data lists no `dynamodb:EnclosingOperation` for dynamodb:ConditionCheckItem, so its strict
//   mode drops the key and denies what the transactions guide (above, examples 2 and 3) conditions
//   on exactly that key;
// - its data types `events:source` (and `events:detail-type`) as lists, so `StringEquals` (the
//   EventBridge guide's own example) never matches in strict mode.
// There, the request is evaluated again with the context exactly as given (runUnsafeSimulation),
// and that verdict counts.

import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const requireTool = createRequire(join(ROOT, '.tools', 'node', 'package.json'));
const { runSimulation, runUnsafeSimulation } = requireTool('@cloud-copilot/iam-simulate');

/** The keys whose strict-mode verdict AWS's documentation overrides, by action, and why. */
export const DOCUMENTED_OVERRIDES = {
  'dynamodb:ConditionCheckItem': {
    keys: ['dynamodb:EnclosingOperation'],
    why: "iam-simulate's data lists no dynamodb:EnclosingOperation for ConditionCheckItem; AWS's 'Using IAM with DynamoDB transactions' conditions ConditionCheckItem on it (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/transaction-apis-iam.html)",
  },
  'events:PutEvents': {
    keys: ['events:source', 'events:detail-type'],
    why: "iam-simulate types events:source and events:detail-type as lists; AWS's 'Using IAM policy conditions in Amazon EventBridge' gives each a single value per entry, matched with StringEquals (https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-use-conditions.html)",
  },
};

// ---- the world: the template's names in place of the tests' --------------------------------

/** What the judge puts in place of the names the tests used: the template's table (every table
 * name recorded is mapped onto it: the tests make many), its stream, the function's bus and
 * sender, from policies.json (tools/iam/policies.py). */
export function worldOf(policies, functionId) {
  const tables = Object.values(policies.tables);
  if (tables.length !== 1) throw new Error(`the judge maps every recorded table onto the template's one table; it has ${tables.length}`);
  const table = tables[0];
  const env = policies.functions[functionId]?.environment ?? {};
  const arn = (service, rest) => `arn:aws:${service}:${policies.region}:${policies.account}:${rest}`;
  const mailFrom = env.MAIL_FROM ?? policies.parameters.MailFrom;
  const identity = policies.parameters.SesIdentity || String(mailFrom).split('@')[1];
  return {
    account: policies.account,
    region: policies.region,
    table,
    bus: env.EVENT_BUS_NAME ? (String(env.EVENT_BUS_NAME).startsWith('arn:') ? env.EVENT_BUS_NAME : arn('events', `event-bus/${env.EVENT_BUS_NAME}`)) : null,
    mailFrom,
    sesIdentityArn: arn('ses', `identity/${identity}`),
    configurationSetArn: (name) => arn('ses', `configuration-set/${name}`),
  };
}

// ---- calls -> IAM requests --------------------------------------------------------------------

/** A DynamoDB attribute value as the string IAM compares (S, N, B as they are). */
function scalar(value) {
  if (!value || typeof value !== 'object') return String(value);
  const [type, v] = Object.entries(value)[0] ?? [];
  return type === 'NULL' ? 'null' : typeof v === 'string' ? v : JSON.stringify(v);
}

/** The value the key condition binds to `attribute` (`#pk = :pk`, `pk = :v`). */
export function keyConditionValue(expression, names = {}, values = {}, attribute) {
  for (const [, lhs, rhs] of String(expression ?? '').matchAll(/([#\w.]+)\s*=\s*(:[\w]+)/g)) {
    const name = lhs.startsWith('#') ? names[lhs] : lhs;
    if (name === attribute && values[rhs]) return scalar(values[rhs]);
  }
  return null;
}

function describeKey(key) {
  return Object.entries(key ?? {})
    .map(([k, v]) => `${k}=${scalar(v)}`)
    .join(' ');
}

const ITEM_ACTIONS = { Put: 'dynamodb:PutItem', Update: 'dynamodb:UpdateItem', Delete: 'dynamodb:DeleteItem', ConditionCheck: 'dynamodb:ConditionCheckItem', Get: 'dynamodb:GetItem' };

/** The context keys an item-level request carries beyond LeadingKeys, when the call sets them
 * (dynamodb:ReturnValues, dynamodb:ReturnConsumedCapacity, dynamodb:Select, dynamodb:Attributes). */
function itemContext(body, item) {
  const context = {};
  if (body.ReturnValues) context['dynamodb:ReturnValues'] = body.ReturnValues;
  if (body.ReturnConsumedCapacity) context['dynamodb:ReturnConsumedCapacity'] = body.ReturnConsumedCapacity;
  if (body.Select) context['dynamodb:Select'] = body.Select;
  if (item) context['dynamodb:Attributes'] = Object.keys(item).sort();
  return context;
}

/**
 * The IAM requests AWS evaluates for one recorded call of a function:
 * `{ requests: [{ action, resource, context, what }], skip?: why }`.
 */
export function iamRequests(call, world) {
  const body = call.request ?? {};
  const op = call.operation ?? '';
  const pk = world.table.partitionKey;
  const tableArn = world.table.arn;
  const leading = (key) => [scalar(key?.[pk])];
  if (op.startsWith('DynamoDB_20120810.')) {
    const name = op.slice('DynamoDB_20120810.'.length);
    const one = (action, resource, context, what) => ({ requests: [{ action, resource, context, what }] });
    switch (name) {
      case 'GetItem':
      case 'DeleteItem':
      case 'UpdateItem':
        return one(`dynamodb:${name}`, tableArn, { 'dynamodb:LeadingKeys': leading(body.Key), ...itemContext(body) }, `${body.TableName}: ${describeKey(body.Key)}`);
      case 'PutItem':
        return one('dynamodb:PutItem', tableArn, { 'dynamodb:LeadingKeys': leading(body.Item), ...itemContext(body, body.Item) }, `${body.TableName}: ${pk}=${scalar(body.Item?.[pk])}`);
      case 'Query':
      case 'Scan': {
        const index = body.IndexName;
        const resource = index ? `${tableArn}/index/${index}` : tableArn;
        const attribute = index ? world.table.indexes[index] : pk;
        const value = name === 'Query' ? keyConditionValue(body.KeyConditionExpression, body.ExpressionAttributeNames, body.ExpressionAttributeValues, attribute) : null;
        const context = { ...itemContext(body) };
        if (value !== null) context['dynamodb:LeadingKeys'] = [value];
        return one(`dynamodb:${name}`, resource, context, `${body.TableName}${index ? ` index ${index}` : ''}: ${attribute}=${value ?? '(any)'}`);
      }
      case 'BatchGetItem':
      case 'BatchWriteItem':
        return {
          requests: Object.entries(body.RequestItems ?? {}).map(([table, request]) => {
            const keys =
              name === 'BatchGetItem' ? (request.Keys ?? []) : request.map((r) => r.PutRequest?.Item ?? r.DeleteRequest?.Key ?? {});
            return {
              action: `dynamodb:${name}`,
              resource: tableArn,
              context: { 'dynamodb:LeadingKeys': [...new Set(keys.map((k) => scalar(k[pk])))].sort(), ...itemContext(body) },
              what: `${table}: ${keys.length} keys`,
            };
          }),
        };
      case 'TransactWriteItems':
      case 'TransactGetItems':
        return {
          requests: (body.TransactItems ?? []).map((entry, index) => {
            const [kind, item] = Object.entries(entry)[0];
            const key = item.Key ?? item.Item;
            return {
              action: ITEM_ACTIONS[kind],
              resource: tableArn,
              context: { 'dynamodb:LeadingKeys': leading(key), 'dynamodb:EnclosingOperation': name, ...itemContext(item, kind === 'Put' ? item.Item : undefined) },
              what: `${name} item ${index + 1} (${kind}) ${item.TableName}: ${pk}=${scalar(key?.[pk])}`,
            };
          }),
        };
      case 'DescribeTable':
      case 'DescribeTimeToLive':
      case 'UpdateTimeToLive':
      case 'CreateTable':
      case 'DeleteTable':
        return one(`dynamodb:${name}`, tableArn, {}, body.TableName);
      case 'ListTables':
        return one('dynamodb:ListTables', '*', {}, '');
      default:
        return { requests: [], unknown: `no IAM mapping for DynamoDB ${name}` };
    }
  }
  if (op.startsWith('DynamoDBStreams_20120810.')) {
    const name = op.slice('DynamoDBStreams_20120810.'.length);
    // Every stream is the template table's; GetRecords names only an iterator, of that stream.
    if (name === 'ListStreams') return { requests: [{ action: 'dynamodb:ListStreams', resource: '*', context: {}, what: body.TableName ?? '' }] };
    if (['DescribeStream', 'GetShardIterator', 'GetRecords'].includes(name)) {
      return { requests: [{ action: `dynamodb:${name}`, resource: world.table.streamArn, context: {}, what: body.StreamArn ?? '(an iterator of the stream)' }] };
    }
    return { requests: [], unknown: `no IAM mapping for DynamoDB Streams ${name}` };
  }
  if (op === 'POST /v2/email/outbound-emails') {
    const to = [...(body.Destination?.ToAddresses ?? []), ...(body.Destination?.CcAddresses ?? []), ...(body.Destination?.BccAddresses ?? [])];
    const context = { 'ses:FromAddress': world.mailFrom, 'ses:Recipients': to, 'ses:ApiVersion': '2' };
    const what = `From ${body.FromEmailAddress} (as MailFrom ${world.mailFrom}) to ${to.length} recipient(s)`;
    const requests = [{ action: 'ses:SendEmail', resource: body.FromEmailAddressIdentityArn ?? world.sesIdentityArn, context, what }];
    if (body.ConfigurationSetName) {
      requests.push({ action: 'ses:SendEmail', resource: world.configurationSetArn(body.ConfigurationSetName), context, what: `${what}, configuration set ${body.ConfigurationSetName}` });
    }
    return { requests };
  }
  if (op === 'AWSEvents.PutEvents') {
    return {
      requests: (body.Entries ?? []).map((entry, index) => ({
        action: 'events:PutEvents',
        // Every bus the tests made stands for the function's EVENT_BUS_NAME.
        resource: world.bus ?? `arn:aws:events:${world.region}:${world.account}:event-bus/${entry.EventBusName ?? 'default'}`,
        context: { 'events:source': entry.Source, 'events:detail-type': entry.DetailType },
        what: `entry ${index + 1}: ${entry.Source} / ${entry.DetailType} on ${entry.EventBusName ?? 'default'}`,
      })),
    };
  }
  return { requests: [], unknown: `no IAM mapping for ${call.service ?? '?'} ${op}` };
}

/** The calls Lambda itself makes with a function's role for the template's event source
 * mappings (docs above): polling the stream, and the on-failure destination. */
export function impliedCalls(policies) {
  const calls = [];
  for (const mapping of policies.eventSourceMappings ?? []) {
    const who = mapping.function;
    const via = `Lambda's poller for ${mapping.logicalId} (template)`;
    if (/:dynamodb:.*\/stream\//.test(mapping.eventSourceArn)) {
      for (const name of ['DescribeStream', 'GetShardIterator', 'GetRecords', 'ListStreams']) {
        calls.push({ who, via, implied: true, service: 'dynamodb', operation: `DynamoDBStreams_20120810.${name}`, request: name === 'ListStreams' ? {} : { StreamArn: mapping.eventSourceArn } });
      }
    }
    if (mapping.onFailure) {
      calls.push({ who, via, implied: true, service: 'sqs', operation: 'sqs.SendMessage', request: { QueueArn: mapping.onFailure } });
    }
  }
  return calls;
}

function impliedRequests(call) {
  if (call.operation === 'sqs.SendMessage') {
    return { requests: [{ action: 'sqs:SendMessage', resource: call.request.QueueArn, context: {}, what: 'a failed batch\'s record to the on-failure destination' }] };
  }
  return null;
}

// ---- judging ----------------------------------------------------------------------------------

const glob = (pattern, value) => new RegExp(`^${String(pattern).replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.')}$`, 'i').test(value);
const list = (v) => (v === undefined ? [] : Array.isArray(v) ? v : [v]);

/** The Allow statements of a function's policies, each with its policy's name. */
export function statementsOf(fn) {
  return fn.policies.flatMap((p) => list(p.document.Statement).filter((s) => s.Effect === 'Allow').map((s, i) => ({ ...s, policy: p.name, sid: s.Sid ?? `${p.name}#${i}` })));
}

const matchesAction = (statement, action) => list(statement.Action).some((a) => glob(a, action));
// A request on `*` (a wildcard-only action) matches only a statement whose Resource is `*`.
const matchesResource = (statement, resource) => list(statement.Resource).some((r) => (resource === '*' ? r === '*' : glob(r, resource)));

/** Why `request` is not allowed, in the words a deployer needs: what is missing. */
export function missing(request, statements) {
  const byAction = statements.filter((s) => matchesAction(s, request.action));
  if (!byAction.length) return `no statement allows ${request.action}`;
  const byResource = byAction.filter((s) => matchesResource(s, request.resource));
  if (!byResource.length) {
    return `${byAction.map((s) => s.sid).join(', ')} allow${byAction.length === 1 ? 's' : ''} ${request.action} on ${[...new Set(byAction.flatMap((s) => list(s.Resource)))].join(', ')}, not on ${request.resource}${request.resource === '*' ? ` (${request.action} takes no resource but *)` : ''}`;
  }
  return `${byResource.map((s) => (s.Condition ? `${s.sid} allows ${request.action} on it only if ${JSON.stringify(s.Condition)}` : `${s.sid} allows ${request.action} on it without a condition, yet the evaluator denied it`)).join('; ')}; the call's context is ${JSON.stringify(request.context)}`;
}

function simulation(request, fn, account) {
  return {
    request: {
      principal: `arn:aws:sts::${account}:assumed-role/${fn.role}/function`,
      action: request.action,
      resource: { resource: request.resource, accountId: account },
      contextVariables: request.context,
    },
    // As deployed: SAM writes the role's inline policies without a Version (IAM then reads them
    // as 2008-10-17, which differs only in policy variables, and none is used).
    identityPolicies: fn.policies.map((p) => ({ name: p.name, policy: p.document })),
    serviceControlPolicies: [],
    resourceControlPolicies: [],
  };
}

/** Verdicts already reached, per function's policies (one object per policies.json). */
const caches = new WeakMap();

/** One IAM request against one function's policies: `{ allowed, strict, documented?, why?,
 * ignoredKeys }`. `strict` is iam-simulate's validated verdict; `documented` the verdict with the
 * context as AWS's documentation gives it, where DOCUMENTED_OVERRIDES applies (it counts then). */
export async function judgeRequest(request, fn, account) {
  if (!caches.has(fn)) caches.set(fn, new Map());
  const cache = caches.get(fn);
  const cacheKey = JSON.stringify([request.action, request.resource, request.context]);
  if (cache.has(cacheKey)) return cache.get(cacheKey);
  const sim = simulation(request, fn, account);
  const result = await runSimulation(sim, {});
  if (result.resultType === 'error') throw new Error(`iam-simulate refused the simulation of ${request.action} on ${request.resource}: ${JSON.stringify(result.errors)}`);
  const strict = result.overallResult;
  const ignoredKeys = result.result?.ignoredContextKeys ?? result.results?.flatMap((r) => r.ignoredContextKeys ?? []) ?? [];
  const override = DOCUMENTED_OVERRIDES[request.action];
  const verdict = { strict, ignoredKeys };
  if (override && override.keys.some((k) => k in request.context)) {
    verdict.documented = runUnsafeSimulation(sim, {});
    verdict.override = override.why;
  }
  verdict.allowed = (verdict.documented ?? strict) === 'Allowed';
  cache.set(cacheKey, verdict);
  return verdict;
}

/**
 * Judges every recorded call of every function (and the calls Lambda makes for the template's
 * mappings) against policies.json. Returns per function logical id:
 * `{ calls, judged: [{ call, request, verdict }], denied: [...], unknown: [...], unused: [...] }`,
 * and `others`: how many calls came from no function of the template (the tests' own).
 */
export async function judgeCalls(calls, policies) {
  const functions = {};
  for (const [id, fn] of Object.entries(policies.functions)) functions[id] = { id, fn, calls: 0, judged: [], denied: [], unknown: [], unused: [] };
  const others = {};
  for (const call of [...calls, ...impliedCalls(policies)]) {
    const entry = functions[call.who];
    if (!entry) {
      others[call.who ?? '(unsigned)'] = (others[call.who ?? '(unsigned)'] ?? 0) + 1;
      continue;
    }
    entry.calls += 1;
    const { requests, unknown } = impliedRequests(call) ?? iamRequests(call, worldOf(policies, call.who));
    if (unknown) entry.unknown.push({ call, why: unknown });
    for (const request of requests) {
      const verdict = await judgeRequest(request, entry.fn, policies.account);
      const judged = { call, request, verdict };
      entry.judged.push(judged);
      if (!verdict.allowed) entry.denied.push({ ...judged, missing: missing(request, statementsOf(entry.fn)) });
    }
  }
  for (const entry of Object.values(functions)) {
    // Least privilege the other way: every (statement, action) that no allowed request used.
    const allowed = entry.judged.filter((j) => j.verdict.allowed).map((j) => j.request);
    for (const statement of statementsOf(entry.fn)) {
      for (const action of list(statement.Action)) {
        for (const resource of list(statement.Resource)) {
          const used = allowed.some((r) => glob(action, r.action) && (r.resource === '*' ? resource === '*' : glob(resource, r.resource)));
          if (!used) entry.unused.push({ sid: statement.sid, action, resource });
        }
      }
    }
  }
  return { functions, others };
}

// ---- the report -------------------------------------------------------------------------------

const short = (arn) => String(arn).replace(/^arn:aws:[a-z0-9-]+:[a-z0-9-]*:\d*:/, '');

/** One line per distinct (operation, action, resource, verdict) of a function, with a count. */
export function summaryLines(entry) {
  const groups = new Map();
  for (const { call, request, verdict } of entry.judged) {
    const strictNote = verdict.documented && verdict.documented !== verdict.strict ? ` [strict iam-simulate: ${verdict.strict}; AWS's docs: ${verdict.documented}]` : '';
    const key = `${verdict.allowed ? 'allowed' : 'DENIED '} ${call.via ? `${call.via}: ` : ''}${call.operation} -> ${request.action} on ${short(request.resource)}${strictNote}`;
    groups.set(key, (groups.get(key) ?? 0) + 1);
  }
  return [...groups].sort().map(([line, count]) => `  ${line}${count > 1 ? ` (x${count})` : ''}`);
}

/** The denials of a function, those alike (action, resource, what is missing) as one. */
export function groupDenials(entry) {
  const groups = new Map();
  for (const denial of entry.denied) {
    const key = JSON.stringify([denial.request.action, denial.request.resource, denial.missing, denial.call.operation]);
    if (!groups.has(key)) groups.set(key, { ...denial, others: [] });
    else groups.get(key).others.push(denial);
  }
  return [...groups.values()];
}

export function denialText(entry, denial) {
  const { call, request, verdict } = denial;
  const more = denial.others?.length ? `, and ${denial.others.length} more alike (${denial.others.slice(0, 5).map((d) => `#${d.call.seq}`).join(', ')}${denial.others.length > 5 ? ', ...' : ''})` : '';
  return [
    `${entry.id}: DENIED ${request.action} on ${request.resource}`,
    `  call:     ${call.via ?? `recorded #${call.seq}`} ${call.operation} (${request.what})${more}`,
    `  context:  ${JSON.stringify(request.context)}`,
    `  verdict:  ${verdict.documented ? `AWS's docs: ${verdict.documented}; strict iam-simulate: ${verdict.strict}` : verdict.strict}`,
    `  missing:  ${denial.missing}`,
  ].join('\n');
}

export function report({ functions, others }) {
  const out = [];
  for (const entry of Object.values(functions).sort((a, b) => a.id.localeCompare(b.id))) {
    out.push(`${entry.id}: ${entry.calls} calls, ${entry.judged.length} IAM requests, ${entry.denied.length} denied`);
    out.push(...summaryLines(entry));
    for (const denial of groupDenials(entry)) out.push(denialText(entry, denial).replace(/^/gm, '  '));
    for (const u of entry.unknown) out.push(`  UNMAPPED ${u.call.operation}: ${u.why}`);
    if (entry.unused.length) {
      out.push(`  granted, used by no call: ${entry.unused.map((u) => `${u.action} on ${short(u.resource)} (${u.sid})`).join('; ')}`);
    }
  }
  // What the evaluator's strict mode dropped from the contexts given (its data lacks the key for
  // that action): where that is a documented key, DOCUMENTED_OVERRIDES decided instead.
  const dropped = new Map();
  for (const entry of Object.values(functions)) {
    for (const { request, verdict } of entry.judged) {
      for (const key of verdict.ignoredKeys) dropped.set(`${request.action} ${key}`, DOCUMENTED_OVERRIDES[request.action]?.keys.includes(key));
    }
  }
  for (const [pair, documented] of [...dropped].sort()) {
    out.push(`iam-simulate's strict mode drops ${pair}${documented ? ": AWS's docs condition on it, so the documented verdict counts" : ' (no policy here conditions on it)'}`);
  }
  const otherCount = Object.values(others).reduce((a, b) => a + b, 0);
  if (otherCount) out.push(`not a function of the template (the tests' own calls): ${Object.entries(others).map(([k, v]) => `${k} x${v}`).join(', ')}`);
  return out.join('\n');
}

export function readCalls(path) {
  return readFileSync(path, 'utf8')
    .split('\n')
    .filter((line) => line.trim())
    .map((line) => JSON.parse(line));
}
