/**
 * Piscina worker of the WAL checkpointer (see wal-checkpointer.ts): its own connection per
 * database, copying committed WAL frames into the database file off the event loop.
 */
import Database from 'better-sqlite3';

export interface CheckpointTask {
  path: string;
}

export interface CheckpointResult {
  /** Another connection held a lock the checkpoint needed; the rest is copied next time. */
  busy: boolean;
  walFrames: number;
  checkpointedFrames: number;
}

const connections = new Map<string, Database.Database>();

function connectionTo(path: string): Database.Database {
  let db = connections.get(path);
  if (!db) {
    db = new Database(path, { fileMustExist: true });
    // This connection only checkpoints; it must never start an inline checkpoint of its own.
    db.pragma('wal_autocheckpoint = 0');
    connections.set(path, db);
  }
  return db;
}

export default function checkpoint({ path }: CheckpointTask): CheckpointResult {
  // PASSIVE never waits for readers or writers and takes no writer lock: request handlers
  // keep committing while the frames are copied and fsync'd here.
  const [row] = connectionTo(path).pragma('wal_checkpoint(PASSIVE)') as { busy: number; log: number; checkpointed: number }[];
  return { busy: row!.busy !== 0, walFrames: row!.log, checkpointedFrames: row!.checkpointed };
}
