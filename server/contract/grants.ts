/**
 * The actions a grant can give, and which of them each kind of resource takes. A resource's
 * creator is granted every action of its kind. The permissions table's column, the admin
 * API, the CLI and the services all take their lists from here.
 *
 * This module imports nothing, so db/schema.ts can use it as well (drizzle-kit loads the
 * schema on its own, and the generated migration must stay what it is).
 */
export const GRANT_ACTIONS = ['view', 'export', 'generate', 'create'] as const;
export type GrantAction = (typeof GRANT_ACTIONS)[number];

/** Any grant implies `view`, so every kind lists it; the other action is what the kind is for. */
export const ACTIONS_BY_KIND = {
  document: ['view', 'export'],
  template: ['view', 'generate'],
  folder: ['view', 'create'],
} as const satisfies Record<string, readonly GrantAction[]>;
export type ResourceKind = keyof typeof ACTIONS_BY_KIND;
