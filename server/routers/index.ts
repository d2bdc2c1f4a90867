import { createCallerFactory, router } from '../trpc.js';
import { adminRouter } from './admin.js';
import { notepadRouter } from './notepad.js';

export const appRouter = router({
  notepad: notepadRouter,
  admin: adminRouter,
});

export type AppRouter = typeof appRouter;

export const createCaller = createCallerFactory(appRouter);
