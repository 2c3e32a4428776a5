/**
 * Money in and out of an account, every movement in the ledger. The
 * balance row is locked first, so movements of one account run one at a
 * time; a movement id already in the ledger moves nothing again. A
 * withdrawal never takes the balance below 0 (a refusal, SQLSTATE OS409).
 */

export const routines = [
  String.raw`
-- One movement of {accountId, <kind>Id, amount}, under the balance's row lock:
-- entered in the ledger unless it is there, then the balance moved (never below 0,
-- OS409). Answers the REST call (201) and announces it once.
create or replace function deposit_move(p_kind text, p_event text, p json)
returns json language plpgsql as $$
declare
  v_key text := p_kind || 'Id';
  v_account uuid := (p->>'accountId')::uuid;
  v_id uuid := (p->>v_key)::uuid;
  v_amount bigint := (p->>'amount')::bigint;
  v_delta bigint := case p_kind when 'deposit' then v_amount else -v_amount end;
  v_balance bigint;
  v_body json;
begin
  perform 1 from balances where account_id = v_account for update;
  if not found then
    raise exception 'No account %', v_account using errcode = 'OS404';
  end if;
  insert into ledger (id, account_id, kind, amount, reference) values (gen_random_uuid(), v_account, p_kind, v_amount, v_id)
  on conflict (kind, reference) do nothing;
  if not found then
    select balance into v_balance from balances where account_id = v_account;
    return json_build_object('result', json_build_object('status', 201, 'body',
      json_build_object(v_key, v_id, 'accountId', v_account, 'amount', v_amount, 'balance', v_balance)), 'events', '[]'::json);
  end if;
  update balances set balance = balance + v_delta, updated_at = now()
   where account_id = v_account and balance + v_delta >= 0 returning balance into v_balance;
  if not found then
    raise exception 'The balance of account % is less than %', v_account, v_amount using errcode = 'OS409';
  end if;
  v_body := json_build_object(v_key, v_id, 'accountId', v_account, 'amount', v_amount, 'balance', v_balance);
  return json_build_object('result', json_build_object('status', 201, 'body', v_body),
    'events', json_build_array(saga_out(p_event, v_account::text, v_body)));
end $$;

-- The two steps: account.deposited, account.withdrawn.
create or replace function deposit_add(p json) returns json language plpgsql as $$
begin return deposit_move('deposit', 'account.deposited', p); end $$;
create or replace function deposit_withdraw(p json) returns json language plpgsql as $$
begin return deposit_move('withdrawal', 'account.withdrawn', p); end $$;
`,
];

export const DEPOSIT = 'deposit_add';
export const WITHDRAW = 'deposit_withdraw';
