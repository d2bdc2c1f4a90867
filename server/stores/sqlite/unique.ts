/** Whether SQLite refused a write for a unique index (a document title already used in its folder). */
export const isUniqueViolation = (error: unknown): boolean => (error as { code?: string } | null)?.code === 'SQLITE_CONSTRAINT_UNIQUE';
