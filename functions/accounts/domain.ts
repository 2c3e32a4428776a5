/**
 * Accounts: an account and its balance of 0 open together, once. A command
 * that names an account already open with the same details changes nothing;
 * with other details it is refused. The view joins the balance that deposit
 * and charge keep.
 */
import type { Queries } from '../../lib/pg.js';
import { NotFoundError } from '../../lib/errors.js';

export interface NewAccount {
  accountId: string;
  email: string;
  name: string;
}

export interface Account {
  id: string;
  email: string;
  name: string;
  balance: number;
}

export const routines = [
  String.raw`
create or replace function accounts_view(p_id uuid)
returns json language plpgsql stable as $$
begin
  return (
    select json_build_object('id', a.id, 'email', a.email, 'name', a.name, 'balance', b.balance)
      from accounts a join balances b on b.account_id = a.id where a.id = p_id
  );
end $$;

-- Opens {accountId, email, name}; announces account.created.
create or replace function accounts_open(p json)
returns json language plpgsql as $$
declare
  v_id uuid := (p->>'accountId')::uuid;
  existing record;
begin
  insert into accounts (id, email, name) values (v_id, p->>'email', p->>'name') on conflict (id) do nothing;
  if not found then
    select a.email, a.name into existing from accounts a where a.id = v_id;
    if existing.email <> p->>'email' or existing.name <> p->>'name' then
      raise exception 'Account % exists with other details', v_id using errcode = 'OS409';
    end if;
    return json_build_object('result', accounts_view(v_id), 'events', '[]'::json);
  end if;
  insert into balances (account_id, balance) values (v_id, 0);
  return json_build_object('result', accounts_view(v_id), 'events', json_build_array(saga_out('account.created', v_id::text,
    json_build_object('accountId', v_id, 'email', p->>'email', 'name', p->>'name', 'balance', 0))));
end $$;
`,
];

/** The step that opens an account. */
export const OPEN_ACCOUNT = 'accounts_open';

export async function findAccount(sql: Queries, accountId: string): Promise<Account> {
  const row = await sql.one<{ account: Account | null }>('select accounts_view($1) as account', [accountId]);
  if (!row?.account) throw new NotFoundError(`No account ${accountId}`);
  return row.account;
}
