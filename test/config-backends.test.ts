/**
 * NOTEPAD_DB and NOTEPAD_FILES (server/config.ts): which backend a value selects, the
 * defaults of today, and a clear error (naming the variable) for every bad value.
 */
import { describe, expect, it } from 'vitest';
import { configFromEnv, redactUrl } from '../server/config.js';

const S3_ENV = { AWS_REGION: 'eu-west-1' };

describe('NOTEPAD_DB', () => {
  it('defaults to the SQLite file of today', () => {
    expect(configFromEnv({}).database).toEqual({ kind: 'sqlite', path: './data/notepad.db', lockTimeoutMs: 5000 });
    expect(configFromEnv({ NOTEPAD_DB: '' }).database).toEqual({ kind: 'sqlite', path: './data/notepad.db', lockTimeoutMs: 5000 });
  });

  it('a file path selects SQLite', () => {
    expect(configFromEnv({ NOTEPAD_DB: '/var/lib/notepad/db.sqlite' }).database).toEqual({ kind: 'sqlite', path: '/var/lib/notepad/db.sqlite', lockTimeoutMs: 5000 });
    expect(configFromEnv({ NOTEPAD_DB: ':memory:' }).database).toEqual({ kind: 'sqlite', path: ':memory:', lockTimeoutMs: 5000 });
  });

  it('a postgres:// or postgresql:// URL selects PostgreSQL with a pool of 10 unless told', () => {
    expect(configFromEnv({ NOTEPAD_DB: 'postgres://u:p@db.internal:5432/notepad' }).database).toEqual({
      kind: 'postgres',
      url: 'postgres://u:p@db.internal:5432/notepad',
      poolSize: 10,
      lockTimeoutMs: 5000,
    });
    expect(configFromEnv({ NOTEPAD_DB: 'postgresql://db/notepad', NOTEPAD_DB_POOL: '25' }).database).toEqual({
      kind: 'postgres',
      url: 'postgresql://db/notepad',
      poolSize: 25,
      lockTimeoutMs: 5000,
    });
  });

  it('NOTEPAD_DB_LOCK_TIMEOUT_MS sets how long a statement waits for a lock, on either backend; at least 1 ms', () => {
    expect(configFromEnv({ NOTEPAD_DB_LOCK_TIMEOUT_MS: '250' }).database).toEqual({ kind: 'sqlite', path: './data/notepad.db', lockTimeoutMs: 250 });
    expect(configFromEnv({ NOTEPAD_DB: 'x.db', NOTEPAD_DB_LOCK_TIMEOUT_MS: '1' }).database).toEqual({ kind: 'sqlite', path: 'x.db', lockTimeoutMs: 1 });
    expect(configFromEnv({ NOTEPAD_DB: 'postgres://db/n', NOTEPAD_DB_LOCK_TIMEOUT_MS: '30000' }).database).toEqual({
      kind: 'postgres',
      url: 'postgres://db/n',
      poolSize: 10,
      lockTimeoutMs: 30000,
    });
    // 0 would mean "do not wait" to SQLite and "wait forever" to PostgreSQL.
    expect(() => configFromEnv({ NOTEPAD_DB_LOCK_TIMEOUT_MS: '0' })).toThrow(/NOTEPAD_DB_LOCK_TIMEOUT_MS must be an integer >= 1, got "0"/);
    expect(() => configFromEnv({ NOTEPAD_DB_LOCK_TIMEOUT_MS: '5s' })).toThrow(/NOTEPAD_DB_LOCK_TIMEOUT_MS/);
  });

  it('refuses integers past 2^53 - 1, which are not exact and some of which no database column takes', () => {
    expect(configFromEnv({ NOTEPAD_MAX_STORED_BYTES_PER_USER: String(Number.MAX_SAFE_INTEGER) }).quotas.maxStoredBytesPerUser).toBe(Number.MAX_SAFE_INTEGER);
    expect(() => configFromEnv({ NOTEPAD_MAX_STORED_BYTES_PER_USER: '1e19' })).toThrow(/NOTEPAD_MAX_STORED_BYTES_PER_USER must be an integer >= 1, got "1e19"/);
    expect(() => configFromEnv({ NOTEPAD_DB_LOCK_TIMEOUT_MS: '9007199254740993' })).toThrow(/NOTEPAD_DB_LOCK_TIMEOUT_MS/);
  });

  it('refuses other URLs, hostless URLs and bad pool sizes, naming the variable and never printing the password', () => {
    expect(() => configFromEnv({ NOTEPAD_DB: 'mysql://u:secret@db/notepad' })).toThrow(/NOTEPAD_DB must be a SQLite file path or a postgres:\/\/ or postgresql:\/\/ URL/);
    expect(() => configFromEnv({ NOTEPAD_DB: 'postgres:///notepad' })).toThrow(/NOTEPAD_DB must name the PostgreSQL host/);
    expect(() => configFromEnv({ NOTEPAD_DB: 'postgres://u:secret@db/x', NOTEPAD_DB_POOL: '0' })).toThrow(/NOTEPAD_DB_POOL must be an integer >= 1, got "0"/);
    expect(() => configFromEnv({ NOTEPAD_DB_POOL: 'ten' })).toThrow(/NOTEPAD_DB_POOL/);
    try {
      configFromEnv({ NOTEPAD_DB: 'postgres://u:secret@[bad/x' });
      expect.unreachable();
    } catch (error) {
      expect(String(error)).toMatch(/NOTEPAD_DB is not a valid URL/);
      expect(String(error)).not.toContain('secret');
    }
  });

  it('redactUrl hides the password only', () => {
    expect(redactUrl('postgres://u:secret@db:5432/n')).toBe('postgres://u:***@db:5432/n');
    expect(redactUrl('postgres://db/n')).toBe('postgres://db/n');
  });
});

describe('NOTEPAD_FILES', () => {
  it('defaults to the directory of today; a path selects a local directory', () => {
    expect(configFromEnv({}).files).toEqual({ kind: 'local', dir: './data/files' });
    expect(configFromEnv({ NOTEPAD_FILES: '/srv/pdfs' }).files).toEqual({ kind: 'local', dir: '/srv/pdfs' });
  });

  it('s3://bucket/prefix selects S3 with the AWS variables', () => {
    const files = configFromEnv({
      NOTEPAD_FILES: 's3://notepad-pdfs/exports/eu/',
      AWS_REGION: 'eu-west-1',
      AWS_ACCESS_KEY_ID: 'AKIA',
      AWS_SECRET_ACCESS_KEY: 'shh',
      AWS_ENDPOINT_URL_S3: 'http://127.0.0.1:9000',
      NOTEPAD_S3_FORCE_PATH_STYLE: 'true',
    }).files;
    expect(files).toEqual({
      kind: 's3',
      bucket: 'notepad-pdfs',
      prefix: 'exports/eu/',
      region: 'eu-west-1',
      endpoint: 'http://127.0.0.1:9000',
      forcePathStyle: true,
      credentials: { accessKeyId: 'AKIA', secretAccessKey: 'shh' },
    });
  });

  it('a bucket alone has no prefix; no keys means the SDK default chain; path style off unless told', () => {
    expect(configFromEnv({ NOTEPAD_FILES: 's3://notepad-pdfs', ...S3_ENV }).files).toEqual({
      kind: 's3',
      bucket: 'notepad-pdfs',
      prefix: '',
      region: 'eu-west-1',
      endpoint: undefined,
      forcePathStyle: false,
      credentials: undefined,
    });
  });

  it.each([
    [{ NOTEPAD_FILES: 'gs://bucket' }, /NOTEPAD_FILES must be a directory or an s3:\/\/bucket\/optional\/prefix URL/],
    [{ NOTEPAD_FILES: 's3://Bad_Bucket', ...S3_ENV }, /not a valid S3 bucket name/],
    [{ NOTEPAD_FILES: 's3://', ...S3_ENV }, /not a valid S3 bucket name/],
    [{ NOTEPAD_FILES: 's3://bucket/a//b', ...S3_ENV }, /empty, "\." or "\.\." segment/],
    [{ NOTEPAD_FILES: 's3://bucket/../x', ...S3_ENV }, /empty, "\." or "\.\." segment/],
    [{ NOTEPAD_FILES: 's3://bucket' }, /AWS_REGION must be set/],
    [{ NOTEPAD_FILES: 's3://bucket', ...S3_ENV, AWS_ENDPOINT_URL_S3: '127.0.0.1:9000' }, /AWS_ENDPOINT_URL_S3 must be an http/],
    [{ NOTEPAD_FILES: 's3://bucket', ...S3_ENV, AWS_ACCESS_KEY_ID: 'AKIA' }, /AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY must be set together/],
    [{ NOTEPAD_FILES: 's3://bucket', ...S3_ENV, NOTEPAD_S3_FORCE_PATH_STYLE: 'yes' }, /NOTEPAD_S3_FORCE_PATH_STYLE must be "true" or "false"/],
  ])('refuses %j', (env, message) => {
    expect(() => configFromEnv(env)).toThrow(message);
  });
});
