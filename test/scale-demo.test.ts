/**
 * `npm run scale:demo` (scripts/scale-demo.ts), briefly: it starts, prints two api ports and
 * a token; an export created through each api node is rendered and downloads through the
 * other; SIGINT (Ctrl-C) stops every process it started, removes its data, and exits 0.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { sleep } from './process-helpers.js';

const ROOT = resolve(import.meta.dirname, '..');
const tsxLoader = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
/** Far above a start on a loaded two-core machine (a PostgreSQL, an S3 server, four nodes). */
const START_BOUND_MS = 300_000;

const isAlive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
};

let demo: ChildProcess | undefined;
let pids: number[] = [];
afterAll(async () => {
  // On a failure: stop it as a user would, then make sure nothing it started is left.
  if (demo && demo.exitCode === null && demo.signalCode === null) {
    demo.kill('SIGINT');
    await Promise.race([new Promise((done) => demo!.once('exit', done)), sleep(60_000)]);
    demo.kill('SIGKILL');
  }
  for (const pid of pids) if (isAlive(pid)) process.kill(pid, 'SIGKILL');
}, 120_000);

describe('npm run scale:demo', () => {
  it('runs two api and two runner nodes that serve exports, and stops everything on Ctrl-C', { timeout: 600_000 }, async () => {
    demo = spawn(process.execPath, ['--import', tsxLoader, 'scripts/scale-demo.ts'], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    demo.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    demo.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const exited = new Promise<number | null>((done) => demo!.once('exit', (code) => done(code)));
    for (const until = Date.now() + START_BOUND_MS; !/^Ready\.$/m.test(output); await sleep(200)) {
      expect(demo.exitCode, output).toBeNull();
      expect(Date.now(), output).toBeLessThan(until);
    }

    const token = /export TOKEN=(\S+)/.exec(output)?.[1];
    const [, api1, api2] = /export API1=(\S+) API2=(\S+)/.exec(output) ?? [];
    const documentRid = /"documentRid":"([^"]+)"/.exec(output)?.[1];
    pids = [...output.matchAll(/pid (\d+)/g)].map((match) => Number(match[1]));
    const dataDirs = [/logs in (\S+)\)/.exec(output)?.[1], /data in (\S+)\)/.exec(output)?.[1]];
    expect(token && api1 && api2 && documentRid, output).toBeTruthy();
    expect(api1).not.toBe(api2);
    // postgres, the backends process, two api and two runner nodes.
    expect(pids).toHaveLength(6);
    expect(pids.every(isAlive)).toBe(true);
    expect(dataDirs.every((dir) => dir && existsSync(dir))).toBe(true);

    const auth = { authorization: `Bearer ${token}` };
    for (const [createOn, readOn] of [
      [api1!, api2!],
      [api2!, api1!],
    ]) {
      const created = await fetch(`${createOn}/api/v2/notepad/exportJobs/create?preview=true`, {
        method: 'POST',
        headers: { ...auth, 'content-type': 'application/json' },
        body: JSON.stringify({ exportJobSource: { type: 'documentSource', documentRid }, exportJobTarget: { type: 'pdf', userLocale: 'en-US', userTimezone: 'Etc/UTC' } }),
        signal: AbortSignal.timeout(60_000),
      });
      expect(created.status).toBe(200);
      const { rid } = (await created.json()) as { rid: string };
      let status: { type: string; fileRid?: string } = { type: 'running' };
      for (const until = Date.now() + 180_000; status.type === 'running' && Date.now() < until; await sleep(200)) {
        const polled = await fetch(`${readOn}/api/v2/notepad/exportJobs/${rid}?preview=true`, { headers: auth, signal: AbortSignal.timeout(60_000) });
        status = ((await polled.json()) as { status: typeof status }).status;
      }
      expect(status.type).toBe('succeeded');
      const download = await fetch(`${readOn}/api/v2/notepad/files/${status.fileRid}/content?preview=true`, { headers: auth, signal: AbortSignal.timeout(60_000) });
      expect(download.status).toBe(200);
      expect(Buffer.from(await download.arrayBuffer()).subarray(0, 5).toString()).toBe('%PDF-');
    }

    demo.kill('SIGINT');
    expect(await exited).toBe(0);
    expect(output).toMatch(/Stopped; .* removed\./);
    // Every process it started is gone, and so is every byte of its data.
    for (const until = Date.now() + 30_000; pids.some(isAlive) && Date.now() < until; ) await sleep(100);
    expect(pids.filter(isAlive)).toEqual([]);
    expect(dataDirs.filter((dir) => existsSync(dir!))).toEqual([]);
  });
});
