import { describe, expect, it } from 'vitest';
import { REST_ROUTES } from '../server/rest.js';
import { OPERATIONS, oracleDisagreements } from './contract-routes.js';

describe('the test oracle (contract-routes.ts) and the server operations table', () => {
  it('agree on every route: method, path, scope and errors in check order', () => {
    expect(oracleDisagreements()).toEqual([]);
  });

  it('disagree when an error is out of order, missing, or a route is unknown to either', () => {
    const [first, ...rest] = OPERATIONS;
    const swapped = { ...first!, errors: [first!.errors[1]!, first!.errors[0]!, ...first!.errors.slice(2)] };
    expect(oracleDisagreements([swapped, ...rest])).toEqual([expect.stringContaining(`${first!.name}: errors in check order`)]);
    expect(oracleDisagreements(rest)).toEqual([`${first!.name}: a REST route the oracle does not know`]);
    expect(oracleDisagreements(OPERATIONS, REST_ROUTES.slice(1))).toEqual([`${first!.name}: no REST route of that name in server/rest.ts`]);
  });
});
