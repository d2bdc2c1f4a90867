import { Writable } from 'node:stream';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { createJobEvents, notifyOnCreate, type JobEvent } from '../server/job-events.js';

describe('job events', () => {
  it('tell every listener until it unsubscribes; a listener that throws is logged and the others still hear', () => {
    const lines: Array<Record<string, unknown>> = [];
    const sink = new Writable({
      write(chunk: Buffer, _encoding, done) {
        lines.push(JSON.parse(chunk.toString('utf8')) as Record<string, unknown>);
        done();
      },
    });
    const events = createJobEvents(pino({ level: 'info' }, sink));
    const heard: JobEvent[] = [];
    const unsubscribe = events.subscribe((event) => heard.push(event));
    events.subscribe(() => {
      throw new Error('broken listener');
    });
    let notified = 0;
    notifyOnCreate(events, () => notified++);

    expect(() => events.emit({ type: 'created', kind: 'export' })).not.toThrow();
    events.emit({ type: 'failed', kind: 'export', errorCode: 'TIMEOUT', rid: 'ri.notepad.main.export-job.1' });
    unsubscribe();
    events.emit({ type: 'created', kind: 'generation' });

    expect(heard).toEqual([
      { type: 'created', kind: 'export' },
      { type: 'failed', kind: 'export', errorCode: 'TIMEOUT', rid: 'ri.notepad.main.export-job.1' },
    ]);
    expect(notified).toBe(2);
    expect(lines.filter((l) => l.msg === 'a job event listener failed')).toHaveLength(3);
    expect(lines[0]).toMatchObject({ level: 50, event: 'created', kind: 'export', err: { message: 'broken listener' } });
  });
});
