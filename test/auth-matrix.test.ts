import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SCOPES, type Scope } from '../server/contract/api.js';
import type { ErrorName } from '../server/contract/errors.js';
import * as admin from '../server/services/admin.js';
import { authenticate, hashToken } from '../server/services/auth.js';
import { ADMIN_PROCEDURES, OPERATIONS, UUID_V4, type Operation } from './contract-routes.js';
import { createSqliteTestEnv, seedDocument, seedGenerationJob, seedGrant, seedTemplate, seedUser, TEST_BACKEND } from './helpers.js';
import { startLiveServer, type LiveServer } from './live-server.js';

/**
 * The auth matrix (issue 6): every route, over REST and its tRPC procedure on a live server,
 * against every way a caller can lack the right to it. Each cell names the contract's error
 * exactly: errorName, errorCode, HTTP status and parameters, written out here from the
 * contract rather than taken from the catalog. Then: tokens are never stored or logged,
 * and they are compared as digests.
 */

let server: LiveServer;
/** Every token this file issues or sends, for the log check at the end. */
const tokensSeen: string[] = [];
/** A token issued over HTTP by admin.tokens.create. */
let issuedOverApi: string | undefined;

interface World {
  owner: { userId: string; token: string };
  other: { userId: string; token: string };
  /** Owner's tokens: each lacks one scope, or is dead. */
  exportOnly: string;
  writeOnly: string;
  adminOnly: string;
  revoked: string;
  expired: string;
  unknown: string;
  ownerDoc: string;
  viewDoc: string;
  hiddenDoc: string;
  ownerTemplate: string;
  viewTemplate: string;
  hiddenTemplate: string;
  ownerGen: string;
  othersGen: string;
  ownerFolder: string;
  viewFolder: string;
  hiddenFolder: string;
  ownerJob: string;
  othersJob: string;
  ownerFile: string;
  othersFile: string;
}
let w: World;

const target = { type: 'pdf', userLocale: 'en-GB', userTimezone: 'Europe/London' } as const;

async function waitFor<T>(poll: () => Promise<T>, done: (value: T) => boolean, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await poll();
    if (done(value)) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting, last value ${JSON.stringify(value)}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

async function restJson(method: string, path: string, token: string, body?: unknown) {
  const response = await fetch(`${server.baseUrl}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

/** An export job of `token`'s user, finished, and its file. */
async function finishedExport(token: string, documentRid: string): Promise<{ jobRid: string; fileRid: string }> {
  const created = await restJson('POST', '/api/v2/notepad/exportJobs/create?preview=true', token, { exportJobSource: { type: 'documentSource', documentRid }, exportJobTarget: target });
  expect(created.status).toBe(200);
  const jobRid = created.body.rid as string;
  const done = await waitFor(
    () => restJson('GET', `/api/v2/notepad/exportJobs/${jobRid}?preview=true`, token),
    (r) => (r.body.status as { type: string }).type !== 'running',
  );
  const status = done.body.status as { type: string; fileRid: string };
  expect(status.type).toBe('succeeded');
  return { jobRid, fileRid: status.fileRid };
}

beforeAll(async () => {
  server = await startLiveServer();
  const { deps } = server.env;
  const owner = await seedUser(deps, { name: 'Owner' });
  const other = await seedUser(deps, { name: 'Other' });
  const tokenOf = async (scopes: Scope[], expiresInMs?: number) =>
    (await admin.createToken(deps, { userId: owner.userId, scopes, ...(expiresInMs !== undefined ? { expiresInMs } : {}) })).token;
  const revoked = await tokenOf([SCOPES.export, SCOPES.write, SCOPES.admin]);
  await admin.revokeToken(deps, { token: revoked });
  const expired = await tokenOf([SCOPES.export, SCOPES.write, SCOPES.admin], 1);

  const ownerDoc = await seedDocument(deps, owner.userId, { title: 'Mine' });
  const viewDoc = await seedDocument(deps, other.userId, { title: 'Shared to view' });
  await seedGrant(deps, owner.userId, viewDoc, 'view');
  const hiddenDoc = await seedDocument(deps, other.userId, { title: 'Not shared' });
  const ownerTemplate = await seedTemplate(deps, owner.userId);
  const viewTemplate = await seedTemplate(deps, other.userId);
  await seedGrant(deps, owner.userId, viewTemplate, 'view');
  const hiddenTemplate = await seedTemplate(deps, other.userId);
  const ownerGen = await seedGenerationJob(server.env, { creatorId: owner.userId, templateRid: ownerTemplate, status: 'succeeded' });
  const othersGen = await seedGenerationJob(server.env, { creatorId: other.userId, templateRid: ownerTemplate, status: 'succeeded' });
  const ownerFolder = (await admin.createFolder(deps, { name: 'Mine', ownerId: owner.userId })).folderRid;
  const viewFolder = (await admin.createFolder(deps, { name: 'Theirs, visible', ownerId: other.userId })).folderRid;
  await seedGrant(deps, owner.userId, viewFolder, 'view');
  const hiddenFolder = (await admin.createFolder(deps, { name: 'Theirs', ownerId: other.userId })).folderRid;

  const mine = await finishedExport(owner.token, ownerDoc);
  const theirs = await finishedExport(other.token, hiddenDoc);
  w = {
    owner,
    other,
    exportOnly: await tokenOf([SCOPES.export]),
    writeOnly: await tokenOf([SCOPES.write]),
    adminOnly: await tokenOf([SCOPES.admin]),
    revoked,
    expired,
    // Well-formed, like a real one, but never issued.
    unknown: `np_${randomBytes(32).toString('base64url')}`,
    ownerDoc,
    viewDoc,
    hiddenDoc,
    ownerTemplate,
    viewTemplate,
    hiddenTemplate,
    ownerGen,
    othersGen,
    ownerFolder,
    viewFolder,
    hiddenFolder,
    ownerJob: mine.jobRid,
    othersJob: theirs.jobRid,
    ownerFile: mine.fileRid,
    othersFile: theirs.fileRid,
  };
  tokensSeen.push(owner.token, other.token, w.exportOnly, w.writeOnly, w.adminOnly, revoked, expired, w.unknown);
}, 60_000);

afterAll(async () => {
  await server?.close();
});

// ---------------------------------------------------------------------------------------
// The matrix.

interface Expected {
  errorName: ErrorName;
  errorCode: string;
  status: number;
  parameters: Record<string, unknown>;
}

type Row =
  | 'no Authorization header'
  | 'a non-Bearer scheme'
  | '"Bearer " and nothing'
  | 'an unknown token'
  | 'a revoked token'
  | 'an expired token'
  | 'a token without the scope'
  | "another user's job or file"
  | 'view only'
  | 'no grant at all';

const CREDENTIAL_ROWS: Row[] = [
  'no Authorization header',
  'a non-Bearer scheme',
  '"Bearer " and nothing',
  'an unknown token',
  'a revoked token',
  'an expired token',
  'a token without the scope',
];

/** The contract's transport errors (Conventions: Auth). */
function credentialExpectation(row: Row, scope: Scope): Expected {
  if (row === 'a token without the scope') return { errorName: 'ApiUsageDenied', errorCode: 'PERMISSION_DENIED', status: 403, parameters: { missingScope: scope } };
  if (row === 'an unknown token' || row === 'a revoked token' || row === 'an expired token') {
    return { errorName: 'InvalidCredentials', errorCode: 'UNAUTHORIZED', status: 401, parameters: {} };
  }
  return { errorName: 'MissingCredentials', errorCode: 'UNAUTHORIZED', status: 401, parameters: {} };
}

function authorizationFor(row: Row, scope: Scope): string | undefined {
  switch (row) {
    case 'no Authorization header':
      return undefined;
    case 'a non-Bearer scheme':
      return `Basic ${Buffer.from(`owner:${w.owner.token}`).toString('base64')}`;
    case '"Bearer " and nothing':
      return 'Bearer ';
    case 'an unknown token':
      return `Bearer ${w.unknown}`;
    case 'a revoked token':
      return `Bearer ${w.revoked}`;
    case 'an expired token':
      return `Bearer ${w.expired}`;
    case 'a token without the scope':
      // Each lacks exactly the operation's scope; the owner's full token lacks only admin.
      return `Bearer ${scope === SCOPES.export ? w.writeOnly : scope === SCOPES.write ? w.exportOnly : w.owner.token}`;
    default:
      return `Bearer ${w.owner.token}`;
  }
}

/** A route's input as one object (path parameters and body fields, as the tRPC procedure takes it). */
type Input = Record<string, unknown>;

interface Subject {
  input: Input;
  expected: Expected;
}

interface RouteCase {
  op: Operation;
  /** The request that succeeds with the owner's token: the control every cell varies one thing of. */
  valid: () => Input;
  /** What differs in the resource rows, or why the row does not apply to the route. */
  resources: Partial<Record<Row, (() => Subject) | string>>;
}

let saveCounter = 0;

const ROUTES: RouteCase[] = [
  {
    op: OPERATIONS.find((o) => o.name === 'exportJobs.create')!,
    valid: () => ({ exportJobSource: { type: 'documentSource', documentRid: w.ownerDoc }, exportJobTarget: target }),
    resources: {
      "another user's job or file": () => ({
        input: { exportJobSource: { type: 'generationJobSource', generationJobRid: w.othersGen, templateRid: w.ownerTemplate }, exportJobTarget: target },
        expected: { errorName: 'ExportGenerationJobPermissionDenied', errorCode: 'PERMISSION_DENIED', status: 403, parameters: { generationJobRid: w.othersGen } },
      }),
      'view only': () => ({
        input: { exportJobSource: { type: 'documentSource', documentRid: w.viewDoc }, exportJobTarget: target },
        expected: { errorName: 'ExportDocumentPermissionDenied', errorCode: 'PERMISSION_DENIED', status: 403, parameters: { documentRid: w.viewDoc } },
      }),
      'no grant at all': () => ({
        input: { exportJobSource: { type: 'documentSource', documentRid: w.hiddenDoc }, exportJobTarget: target },
        expected: { errorName: 'DocumentNotFound', errorCode: 'NOT_FOUND', status: 404, parameters: { documentRid: w.hiddenDoc } },
      }),
    },
  },
  {
    op: OPERATIONS.find((o) => o.name === 'exportJobs.get')!,
    valid: () => ({ exportJobRid: w.ownerJob }),
    resources: {
      "another user's job or file": () => ({
        input: { exportJobRid: w.othersJob },
        expected: { errorName: 'ExportJobNotFound', errorCode: 'NOT_FOUND', status: 404, parameters: { exportJobRid: w.othersJob } },
      }),
      'view only': 'export jobs carry no grants: only their creator sees them',
      'no grant at all': 'export jobs carry no grants: only their creator sees them',
    },
  },
  {
    op: OPERATIONS.find((o) => o.name === 'exportJobs.list')!,
    valid: () => ({}),
    resources: {
      "another user's job or file": "the list holds only the caller's own jobs: there is no one else's to name",
      'view only': 'export jobs carry no grants: only their creator sees them',
      'no grant at all': 'export jobs carry no grants: only their creator sees them',
    },
  },
  {
    // The owner's job has finished: cancelling it answers it unchanged, so the control changes nothing.
    op: OPERATIONS.find((o) => o.name === 'exportJobs.cancel')!,
    valid: () => ({ exportJobRid: w.ownerJob }),
    resources: {
      "another user's job or file": () => ({
        input: { exportJobRid: w.othersJob },
        expected: { errorName: 'ExportJobNotFound', errorCode: 'NOT_FOUND', status: 404, parameters: { exportJobRid: w.othersJob } },
      }),
      'view only': 'export jobs carry no grants: only their creator sees them',
      'no grant at all': 'export jobs carry no grants: only their creator sees them',
    },
  },
  {
    // The owner's job has finished: its stream is the terminal event, then the end.
    op: OPERATIONS.find((o) => o.name === 'exportJobs.events')!,
    valid: () => ({ exportJobRid: w.ownerJob }),
    resources: {
      "another user's job or file": () => ({
        input: { exportJobRid: w.othersJob },
        expected: { errorName: 'ExportJobNotFound', errorCode: 'NOT_FOUND', status: 404, parameters: { exportJobRid: w.othersJob } },
      }),
      'view only': 'export jobs carry no grants: only their creator sees them',
      'no grant at all': 'export jobs carry no grants: only their creator sees them',
    },
  },
  {
    op: OPERATIONS.find((o) => o.name === 'files.content')!,
    valid: () => ({ fileRid: w.ownerFile }),
    resources: {
      "another user's job or file": () => ({
        input: { fileRid: w.othersFile },
        expected: { errorName: 'ContentFilePermissionDenied', errorCode: 'PERMISSION_DENIED', status: 403, parameters: { fileRid: w.othersFile } },
      }),
      'view only': 'files carry no grants: only their export job creator may read them',
      'no grant at all': 'files carry no grants: only their export job creator may read them',
    },
  },
  {
    op: OPERATIONS.find((o) => o.name === 'templates.generate')!,
    valid: () => ({ templateRid: w.ownerTemplate, templateParameters: {} }),
    resources: {
      "another user's job or file": 'generate takes a template, not a job or file (see the grant rows)',
      'view only': () => ({
        input: { templateRid: w.viewTemplate, templateParameters: {} },
        expected: { errorName: 'GenerateTemplatePermissionDenied', errorCode: 'PERMISSION_DENIED', status: 403, parameters: { templateRid: w.viewTemplate } },
      }),
      'no grant at all': () => ({
        input: { templateRid: w.hiddenTemplate, templateParameters: {} },
        expected: { errorName: 'TemplateNotFound', errorCode: 'NOT_FOUND', status: 404, parameters: { templateRid: w.hiddenTemplate } },
      }),
    },
  },
  {
    op: OPERATIONS.find((o) => o.name === 'generationJobs.get')!,
    valid: () => ({ templateRid: w.ownerTemplate, generationJobRid: w.ownerGen }),
    resources: {
      "another user's job or file": () => ({
        input: { templateRid: w.ownerTemplate, generationJobRid: w.othersGen },
        expected: { errorName: 'GenerationJobNotFound', errorCode: 'NOT_FOUND', status: 404, parameters: { generationJobRid: w.othersGen, templateRid: w.ownerTemplate } },
      }),
      'view only': 'generation jobs carry no grants: only their creator sees them',
      'no grant at all': 'generation jobs carry no grants: only their creator sees them',
    },
  },
  {
    op: OPERATIONS.find((o) => o.name === 'generationJobs.saveDocument')!,
    valid: () => ({ templateRid: w.ownerTemplate, generationJobRid: w.ownerGen, parentFolderRid: w.ownerFolder, documentName: `Saved ${++saveCounter}` }),
    resources: {
      "another user's job or file": () => ({
        input: { templateRid: w.ownerTemplate, generationJobRid: w.othersGen, parentFolderRid: w.ownerFolder, documentName: 'Not mine' },
        expected: {
          errorName: 'SaveDocumentGenerationJobPermissionDenied',
          errorCode: 'PERMISSION_DENIED',
          status: 403,
          parameters: { generationJobRid: w.othersGen, templateRid: w.ownerTemplate },
        },
      }),
      // The contract: saveDocument "needs a `create` grant on the parent folder"; `view` alone is not enough.
      'view only': () => ({
        input: { templateRid: w.ownerTemplate, generationJobRid: w.ownerGen, parentFolderRid: w.viewFolder, documentName: 'Into a viewed folder' },
        expected: { errorName: 'CreateDocumentPermissionDenied', errorCode: 'PERMISSION_DENIED', status: 403, parameters: { parentFolderRid: w.viewFolder } },
      }),
      'no grant at all': () => ({
        input: { templateRid: w.ownerTemplate, generationJobRid: w.ownerGen, parentFolderRid: w.hiddenFolder, documentName: 'Into a hidden folder' },
        expected: { errorName: 'FolderNotFound', errorCode: 'NOT_FOUND', status: 404, parameters: { folderRid: w.hiddenFolder } },
      }),
    },
  },
];

const PATH_PARAMS = /\{(\w+)\}/g;

interface Answer {
  status: number;
  contentType: string | null;
  /** The Foundry error: the REST body, or tRPC's error.data (without httpStatus). */
  error: Record<string, unknown> | undefined;
  /** tRPC's JSON-RPC error code, when tRPC answered. */
  rpcCode: number | undefined;
  bytes: Buffer;
}

async function viaRest(op: Operation, input: Input, authorization: string | undefined): Promise<Answer> {
  const pathNames = new Set([...op.rest.url.matchAll(PATH_PARAMS)].map((m) => m[1]!));
  const url = op.rest.url.replace(PATH_PARAMS, (_m, name: string) => encodeURIComponent(String(input[name])));
  const body = Object.fromEntries(Object.entries(input).filter(([k]) => !pathNames.has(k)));
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (authorization !== undefined) headers.authorization = authorization;
  const response = await fetch(`${server.baseUrl}${url}?preview=true`, {
    method: op.rest.method,
    headers,
    ...(op.rest.method === 'POST' ? { body: JSON.stringify(body) } : {}),
  });
  const bytes = Buffer.from(await response.arrayBuffer());
  const error = response.status === 200 ? undefined : (JSON.parse(bytes.toString('utf8')) as Record<string, unknown>);
  return { status: response.status, contentType: response.headers.get('content-type'), error, rpcCode: undefined, bytes };
}

async function viaTrpc(path: string, type: 'query' | 'mutation' | 'subscription', input: Input, authorization: string | undefined): Promise<Answer> {
  const headers: Record<string, string> = {};
  if (authorization !== undefined) headers.authorization = authorization;
  if (type === 'subscription') return viaTrpcSubscription(path, input, headers);
  const response =
    type === 'query'
      ? await fetch(`${server.baseUrl}/trpc/${path}?input=${encodeURIComponent(JSON.stringify(input))}`, { headers })
      : await fetch(`${server.baseUrl}/trpc/${path}`, { method: 'POST', headers: { ...headers, 'content-type': 'application/json' }, body: JSON.stringify(input) });
  const bytes = Buffer.from(await response.arrayBuffer());
  const json = JSON.parse(bytes.toString('utf8')) as { error?: { code: number; data: Record<string, unknown> } };
  const data = json.error?.data;
  const error = data ? Object.fromEntries(Object.entries(data).filter(([k]) => k !== 'httpStatus')) : undefined;
  if (data) expect(data.httpStatus).toBe(response.status);
  return { status: response.status, contentType: response.headers.get('content-type'), error, rpcCode: json.error?.code, bytes };
}

/**
 * A subscription over tRPC's SSE transport. The gate's errors (credentials) come before tRPC
 * and are JSON; once the procedure runs, tRPC has answered 200 `text/event-stream` and an
 * error of the procedure (scope, ExportJobNotFound) is its `serialized-error` event, whose
 * data carries the contract's error and its httpStatus: that status is the answer's here.
 */
async function viaTrpcSubscription(path: string, input: Input, headers: Record<string, string>): Promise<Answer> {
  const response = await fetch(`${server.baseUrl}/trpc/${path}?input=${encodeURIComponent(JSON.stringify(input))}`, { headers });
  const contentType = response.headers.get('content-type');
  const bytes = Buffer.from(await response.arrayBuffer());
  if (!contentType?.startsWith('text/event-stream')) {
    const json = JSON.parse(bytes.toString('utf8')) as { error: { code: number; data: Record<string, unknown> } };
    const { httpStatus, ...error } = json.error.data;
    expect(httpStatus).toBe(response.status);
    return { status: response.status, contentType, error, rpcCode: json.error.code, bytes };
  }
  expect(response.status).toBe(200);
  const failure = /event: serialized-error\ndata: (.*)\n/.exec(bytes.toString('utf8'));
  if (!failure) return { status: 200, contentType, error: undefined, rpcCode: undefined, bytes };
  const { code, data } = JSON.parse(failure[1]!) as { code: number; data: Record<string, unknown> };
  const { httpStatus, ...error } = data;
  return { status: httpStatus as number, contentType, error, rpcCode: code, bytes };
}

/** JSON-RPC codes tRPC uses for the HTTP statuses in the matrix. */
const RPC_CODES: Record<number, number> = { 401: -32001, 403: -32003, 404: -32004 };

function expectError(answer: Answer, expected: Expected): void {
  expect({ status: answer.status, error: answer.error && { ...answer.error, errorInstanceId: undefined, errorDescription: undefined } }).toEqual({
    status: expected.status,
    error: { errorName: expected.errorName, errorCode: expected.errorCode, parameters: expected.parameters, errorInstanceId: undefined, errorDescription: undefined },
  });
  expect(answer.error?.errorInstanceId).toMatch(UUID_V4);
  expect(typeof answer.error?.errorDescription).toBe('string');
  if (answer.rpcCode !== undefined) expect(answer.rpcCode).toBe(RPC_CODES[expected.status]);
  else expect(answer.contentType).toMatch(/^application\/json/);
}

interface Cell {
  route: RouteCase;
  row: Row;
}

const ROWS: Row[] = [...CREDENTIAL_ROWS, "another user's job or file", 'view only', 'no grant at all'];
const CELLS: Cell[] = ROUTES.flatMap((route) => ROWS.map((row) => ({ route, row })));

/** The request and expectation of a cell, or why it does not apply. */
function cellCase(cell: Cell): { input: Input; authorization: string | undefined; expected: Expected } | string {
  const { route, row } = cell;
  if (CREDENTIAL_ROWS.includes(row)) {
    return { input: route.valid(), authorization: authorizationFor(row, route.op.scope), expected: credentialExpectation(row, route.op.scope) };
  }
  const resource = route.resources[row];
  if (resource === undefined) throw new Error(`the matrix has no cell for ${route.op.name} × ${row}`);
  if (typeof resource === 'string') return resource;
  const { input, expected } = resource();
  return { input, authorization: `Bearer ${w.owner.token}`, expected };
}

describe('auth matrix: every route × every way to lack access', () => {
  describe.each(ROUTES.map((route) => [route.op.name, route] as const))('%s', (_name, route) => {
    it('control: the owner with the right token succeeds, over REST and tRPC', async () => {
      const rest = await viaRest(route.op, route.valid(), `Bearer ${w.owner.token}`);
      expect(rest.status, rest.bytes.toString('utf8').slice(0, 300)).toBe(200);
      if (route.op.name === 'files.content') expect(rest.contentType).toBe('application/pdf');
      const trpc = await viaTrpc(route.op.trpc.path, route.op.trpc.type, route.valid(), `Bearer ${w.owner.token}`);
      expect(trpc.status, trpc.bytes.toString('utf8').slice(0, 300)).toBe(200);
    });

    // A row that does not apply to the route gets no test at all (not a skipped one): the
    // cells left out, and why, are asserted one by one in 'every cell is decided' below.
    for (const row of ROWS.filter((r) => typeof route.resources[r] !== 'string')) {
      it(row, async () => {
        const c = cellCase({ route, row });
        if (typeof c === 'string') throw new Error(c);
        expectError(await viaRest(route.op, c.input, c.authorization), c.expected);
        expectError(await viaTrpc(route.op.trpc.path, route.op.trpc.type, c.input, c.authorization), c.expected);
      });
    }
  });

  it('every cell is decided: an expected error or a stated reason it does not apply', () => {
    const undecided = CELLS.filter((cell) => {
      try {
        cellCase(cell);
        return false;
      } catch {
        return true;
      }
    });
    expect(undecided).toEqual([]);
    // The cells that get no test, each with its reason, written out here rather than read
    // back from ROUTES: a cell that silently turns not-applicable (or a reason that changes)
    // fails this test instead of quietly dropping out of the matrix.
    const notApplicable = CELLS.flatMap((cell) => {
      const c = cellCase(cell);
      return typeof c === 'string' ? [{ route: cell.route.op.name, row: cell.row, reason: c }] : [];
    });
    expect(notApplicable).toEqual([
      { route: 'exportJobs.get', row: 'view only', reason: 'export jobs carry no grants: only their creator sees them' },
      { route: 'exportJobs.get', row: 'no grant at all', reason: 'export jobs carry no grants: only their creator sees them' },
      { route: 'exportJobs.list', row: "another user's job or file", reason: "the list holds only the caller's own jobs: there is no one else's to name" },
      { route: 'exportJobs.list', row: 'view only', reason: 'export jobs carry no grants: only their creator sees them' },
      { route: 'exportJobs.list', row: 'no grant at all', reason: 'export jobs carry no grants: only their creator sees them' },
      { route: 'exportJobs.cancel', row: 'view only', reason: 'export jobs carry no grants: only their creator sees them' },
      { route: 'exportJobs.cancel', row: 'no grant at all', reason: 'export jobs carry no grants: only their creator sees them' },
      { route: 'exportJobs.events', row: 'view only', reason: 'export jobs carry no grants: only their creator sees them' },
      { route: 'exportJobs.events', row: 'no grant at all', reason: 'export jobs carry no grants: only their creator sees them' },
      { route: 'files.content', row: 'view only', reason: 'files carry no grants: only their export job creator may read them' },
      { route: 'files.content', row: 'no grant at all', reason: 'files carry no grants: only their export job creator may read them' },
      { route: 'templates.generate', row: "another user's job or file", reason: 'generate takes a template, not a job or file (see the grant rows)' },
      { route: 'generationJobs.get', row: 'view only', reason: 'generation jobs carry no grants: only their creator sees them' },
      { route: 'generationJobs.get', row: 'no grant at all', reason: 'generation jobs carry no grants: only their creator sees them' },
    ]);
    // 9 routes × 10 rows: every credential row applies to every route, and all the rest are tested.
    expect(ROUTES.map((r) => r.op.name)).toEqual([
      'exportJobs.create',
      'exportJobs.get',
      'exportJobs.list',
      'exportJobs.cancel',
      'exportJobs.events',
      'files.content',
      'templates.generate',
      'generationJobs.get',
      'generationJobs.saveDocument',
    ]);
    expect(CELLS).toHaveLength(90);
    expect(notApplicable.filter((n) => CREDENTIAL_ROWS.includes(n.row))).toEqual([]);
    expect(CELLS.length - notApplicable.length).toBe(76);
  });

  describe('the operator API (scope notepad:admin)', () => {
    const inputs: Record<string, () => Input> = {
      'admin.users.create': () => ({ name: 'Grace' }),
      'admin.tokens.create': () => ({ userId: w.other.userId, scopes: [SCOPES.export] }),
      'admin.tokens.revoke': () => ({ token: 'np_not-a-real-token' }),
      'admin.documents.create': () => ({ title: `Doc ${randomUUID()}`, content: { blocks: [] }, ownerId: w.owner.userId }),
      'admin.folders.create': () => ({ name: 'Folder', ownerId: w.owner.userId }),
      'admin.templates.create': () => ({ title: 'T', ownerId: w.owner.userId, content: { blocks: [] }, parameters: [] }),
      'admin.templates.publish': () => ({ templateRid: w.ownerTemplate, content: { blocks: [] }, parameters: [] }),
      'admin.grants.create': () => ({ userId: w.other.userId, resourceRid: w.ownerDoc, action: 'view' }),
      'admin.grants.revoke': () => ({ userId: w.other.userId, resourceRid: w.ownerDoc, action: 'view' }),
    };
    it.each(ADMIN_PROCEDURES.flatMap((p) => CREDENTIAL_ROWS.map((row) => [p.path, row] as const)))('%s × %s', async (path, row) => {
      const answer = await viaTrpc(path, 'mutation', inputs[path]!(), authorizationFor(row, SCOPES.admin));
      expectError(answer, credentialExpectation(row, SCOPES.admin));
    });

    it.each(ADMIN_PROCEDURES.map((p) => [p.path]))('control: %s with an admin token succeeds', async (path) => {
      const answer = await viaTrpc(path, 'mutation', inputs[path]!(), `Bearer ${w.adminOnly}`);
      expect(answer.status, answer.bytes.toString('utf8').slice(0, 300)).toBe(200);
      if (path === 'admin.tokens.create') {
        issuedOverApi = (JSON.parse(answer.bytes.toString('utf8')) as { result: { data: { token: string } } }).result.data.token;
        tokensSeen.push(issuedOverApi);
      }
    });
  });
});

// ---------------------------------------------------------------------------------------
// Tokens at rest, in logs, and how they are compared.

/** The byte patterns of a token a store could hold: as text, without its prefix, and its raw random bytes. */
function tokenPatterns(token: string): Buffer[] {
  const secret = token.slice('np_'.length);
  return [Buffer.from(token, 'utf8'), Buffer.from(secret, 'utf8'), Buffer.from(secret, 'base64url')];
}

function filesOf(dbPath: string): Array<{ name: string; bytes: Buffer }> {
  return [dbPath, `${dbPath}-wal`, `${dbPath}-journal`].filter((path) => existsSync(path)).map((name) => ({ name, bytes: readFileSync(name) }));
}

// The database file and its WAL are SQLite's; PostgreSQL's tokens at rest are checked row by row below.
if (TEST_BACKEND === 'sqlite') describe('tokens at rest', () => {
  it('only the sha256 of a token reaches the database file and its WAL, before and after a checkpoint', async () => {
    const env = await createSqliteTestEnv();
    try {
      const dbPath = join(env.dir, 'notepad.db');
      const { userId } = await admin.createUser(env.deps, { name: 'Ada' });
      const { token } = await admin.createToken(env.deps, { userId, scopes: [SCOPES.export] });
      const { token: revoked } = await admin.createToken(env.deps, { userId, scopes: [SCOPES.write] });
      await admin.revokeToken(env.deps, { token: revoked });
      await authenticate(env.deps, `Bearer ${token}`);

      const open = filesOf(dbPath);
      expect(open.map((f) => f.name)).toContain(`${dbPath}-wal`);
      env.database.close();
      const closed = filesOf(dbPath);
      for (const t of [token, revoked]) {
        for (const file of [...open, ...closed]) {
          for (const pattern of tokenPatterns(t)) expect(file.bytes.includes(pattern), `${file.name} holds ${t}`).toBe(false);
        }
        // The files read are the right ones: the digest is there (in the WAL first, then in the checkpointed file).
        expect(open.some((f) => f.bytes.includes(Buffer.from(hashToken(t))))).toBe(true);
        expect(closed.find((f) => f.name === dbPath)!.bytes.includes(Buffer.from(hashToken(t)))).toBe(true);
      }
    } finally {
      await env.cleanup();
    }
  });

  it('tokens issued over the operator API are not in the live database file or WAL either', () => {
    expect(issuedOverApi).toBeDefined();
    const dbPath = join(server.env.dir, 'notepad.db');
    const files = filesOf(dbPath);
    expect(files.length).toBeGreaterThan(0);
    for (const token of tokensSeen) {
      for (const file of files) for (const pattern of tokenPatterns(token)) expect(file.bytes.includes(pattern), `${file.name} holds a token`).toBe(false);
    }
    expect(files.some((f) => f.bytes.includes(Buffer.from(hashToken(issuedOverApi!))))).toBe(true);
  });
});

// PostgreSQL keeps its files to itself: what it holds at rest is read back row by row, every table.
if (TEST_BACKEND === 'postgres') describe('tokens at rest (PostgreSQL)', () => {
  it('no row of any table holds a token issued or sent, over the operator API or in process; their digests are there', async () => {
    expect(issuedOverApi).toBeDefined();
    const { token } = await admin.createToken(server.env.deps, { userId: w.owner.userId, scopes: [SCOPES.export] });
    const { token: revoked } = await admin.createToken(server.env.deps, { userId: w.owner.userId, scopes: [SCOPES.write] });
    await admin.revokeToken(server.env.deps, { token: revoked });
    tokensSeen.push(token, revoked);
    const text = await server.env.rows.everyRowAsText();
    for (const t of tokensSeen) {
      // The token, its secret, and the secret's bytes as a bytea column would print them (hex).
      const secret = t.slice('np_'.length);
      for (const pattern of [t, secret, Buffer.from(secret, 'base64url').toString('hex')]) expect(text.includes(pattern), 'a row holds a token').toBe(false);
    }
    for (const t of [token, revoked, issuedOverApi!]) expect(text.includes(hashToken(t))).toBe(true);
  });
});

describe('tokens are compared as digests', () => {
  it('hashToken is the hex sha256 of the token text', () => {
    for (const token of ['np_abc', `np_${randomBytes(32).toString('base64url')}`, 'ünïcödé', '']) {
      expect(hashToken(token)).toBe(createHash('sha256').update(token, 'utf8').digest('hex'));
    }
  });

  it('the stored column is that digest, and no column holds the token', async () => {
    const { token, tokenId } = await admin.createToken(server.env.deps, { userId: w.owner.userId, scopes: [SCOPES.export] });
    tokensSeen.push(token);
    const row = (await server.env.rows.token(tokenId))!;
    expect(row.tokenHash).toBe(createHash('sha256').update(token).digest('hex'));
    for (const value of Object.values(row)) expect(String(value)).not.toContain(token.slice(3));
  });

  it('lookup is by digest only: the store receives the digest, a plaintext column would not match, a planted digest would', async () => {
    const env = server.env;
    const { token, tokenId } = await admin.createToken(env.deps, { userId: w.owner.userId, scopes: [SCOPES.export] });
    tokensSeen.push(token);
    const store = env.deps.stores.auth;
    const original = store.principalByTokenHash.bind(store);
    const seen: unknown[] = [];
    store.principalByTokenHash = (tokenHash) => {
      seen.push(tokenHash);
      return original(tokenHash);
    };
    try {
      expect((await authenticate(env.deps, `Bearer ${token}`)).userId).toBe(w.owner.userId);
      expect(seen).toEqual([hashToken(token)]);

      const setHash = (tokenHash: string) => env.rows.set('tokens', tokenId, { tokenHash });
      // With the plaintext in the column the token no longer authenticates: nothing compares plaintext.
      await setHash(token);
      expect(await authenticate(env.deps, `Bearer ${token}`).catch((error: { errorName?: unknown }) => error.errorName)).toBe('InvalidCredentials');
      // Any string whose digest is stored authenticates: the digest is the whole comparison.
      const planted = `np_${randomBytes(8).toString('hex')}`;
      await setHash(hashToken(planted));
      expect((await authenticate(env.deps, `Bearer ${planted}`)).userId).toBe(w.owner.userId);
      await env.rows.delete('tokens', tokenId);
    } finally {
      store.principalByTokenHash = original;
    }
  });
});

describe('tokens never reach the log', () => {
  it('a full flow over REST and tRPC, with good and bad credentials, logs no token', async () => {
    const token = w.owner.token;
    // REST: export, poll, download; generate, poll, save; then tRPC reads; then refused calls.
    const { jobRid, fileRid } = await finishedExport(token, w.ownerDoc);
    const pdf = await fetch(`${server.baseUrl}/api/v2/notepad/files/${fileRid}/content?preview=true`, { headers: { authorization: `Bearer ${token}` } });
    expect(pdf.status).toBe(200);
    await pdf.arrayBuffer();
    const generated = await restJson('POST', `/api/v2/notepad/templates/${w.ownerTemplate}/generate?preview=true`, token, { templateParameters: {} });
    expect(generated.status).toBe(200);
    const generationJobRid = generated.body as unknown as string;
    await waitFor(
      () => restJson('GET', `/api/v2/notepad/templates/${w.ownerTemplate}/generationJobs/${generationJobRid}?preview=true`, token),
      (r) => (r.body.status as { type: string }).type === 'succeeded',
    );
    const saved = await restJson('POST', `/api/v2/notepad/templates/${w.ownerTemplate}/generationJobs/${generationJobRid}/saveDocument?preview=true`, token, {
      parentFolderRid: w.ownerFolder,
      documentName: 'Logged flow',
    });
    expect(saved.status).toBe(200);
    expect((await viaTrpc('notepad.exportJobs.get', 'query', { exportJobRid: jobRid }, `Bearer ${token}`)).status).toBe(200);
    const issued = await viaTrpc('admin.tokens.create', 'mutation', { userId: w.other.userId, scopes: [SCOPES.write] }, `Bearer ${w.adminOnly}`);
    const newToken = (JSON.parse(issued.bytes.toString('utf8')) as { result: { data: { token: string } } }).result.data.token;
    tokensSeen.push(newToken);
    expect((await viaTrpc('admin.tokens.revoke', 'mutation', { token: newToken }, `Bearer ${w.adminOnly}`)).status).toBe(200);
    for (const bad of [w.unknown, w.revoked, w.expired, newToken, `${token}x`]) {
      expect((await restJson('GET', `/api/v2/notepad/exportJobs/${jobRid}?preview=true`, bad)).status).toBe(401);
      expect((await viaTrpc('notepad.exportJobs.get', 'query', { exportJobRid: jobRid }, `Bearer ${bad}`)).status).toBe(401);
    }
    tokensSeen.push(`${token}x`);

    const lines = server.env.logLines();
    const text = lines.map((line) => JSON.stringify(line)).join('\n');
    // The log is the real one: Fastify's request lines, the rejections with their errorInstanceId, the runner.
    expect(lines.some((l) => l.msg === 'request completed')).toBe(true);
    // A tRPC query's input sits in the URL; the request line keeps it out of the log.
    const queryLines = lines.filter((l) => typeof l.url === 'string' && l.url.includes('input='));
    expect(queryLines.length).toBeGreaterThan(0);
    for (const line of queryLines) expect(line.url).toMatch(/input=\[redacted\]/);
    // Both transports' refusals are logged. Credentials are checked before a body is read, so a
    // tRPC call's 401 is a request rejected before any procedure runs, like a REST call's.
    const rejected = lines.filter((l) => l.msg === 'request rejected' && l.errorName === 'InvalidCredentials');
    const completed401 = (prefix: string) =>
      new Set(lines.filter((l) => l.msg === 'request completed' && l.statusCode === 401 && String(l.url).startsWith(prefix)).map((l) => l.reqId));
    for (const prefix of ['/api/', '/trpc/']) {
      const ids = completed401(prefix);
      expect(rejected.filter((l) => ids.has(l.reqId)).length, prefix).toBeGreaterThanOrEqual(5);
    }
    expect(lines.length).toBeGreaterThan(100);
    for (const t of new Set(tokensSeen)) {
      expect(text.includes(t), `the log holds a token (${t.slice(0, 6)}…)`).toBe(false);
      expect(text.includes(t.slice(3)), 'the log holds a token without its prefix').toBe(false);
    }
  }, 60_000);
});
