import { z } from 'zod';

/**
 * What a template parameter may be called. A name is referenced from Markdown as
 * `{{name}}` and from JSON content as a `parameter` node, so it starts with a letter or
 * `_` and continues with letters, digits, `_`, `.` or `-`: nothing that could be read as
 * the `?`, `:` or braces of the Markdown syntax. This module imports nothing of the
 * contract, so api.ts, content.ts and the Markdown importer can all use it without a cycle.
 */
export const PARAMETER_NAME_PATTERN = /^[A-Za-z_][A-Za-z0-9_.-]*$/;
export const MAX_PARAMETER_NAME_LENGTH = 256;

export const ParameterName = z.string().min(1).max(MAX_PARAMETER_NAME_LENGTH).regex(PARAMETER_NAME_PATTERN);

export const isParameterName = (name: string): boolean => ParameterName.safeParse(name).success;
