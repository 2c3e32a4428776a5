/**
 * Money in and out of an account, every movement in the ledger. The
 * balance row is locked first, so movements of one account run one at a
 * time; a movement id already in the ledger moves nothing again. A
 * withdrawal never takes the balance below 0 (a refusal, SQLSTATE OS409).
 */

export const routines = [
  String.raw`
-- Locks the balance, then enters the movement in the ledger unless it is there.
create or replace function deposit_enter(p_kind text, p_account uuid, p_reference uuid, p_amount bigint)
returns boolean language plpgsql as $$
begin
  perform 1 from balances where account_id = p_account for update;
  if not found then
    raise exception 'No account %', p_account using errcode = 'OS404';
  end if;
  insert into ledger (id, account_id, kind, amount, reference) values (gen_random_uuid(), p_account, p_kind, p_amount, p_reference)
  on conflict (kind, reference) do nothing;
  return found;
end $$;

-- {accountId, depositId, amount}: the REST answer (201) and account.deposited.
create or replace function deposit_add(p json)
returns json language plpgsql as $$
declare
  v_account uuid := (p->>'accountId')::uuid;
  v_id uuid := (p->>'depositId')::uuid;
  v_amount bigint := (p->>'amount')::bigint;
  v_balance bigint;
  v_events json := '[]';
begin
  if deposit_enter('deposit', v_account, v_id, v_amount) then
    update balances set balance = balance + v_amount, updated_at = now() where account_id = v_account returning balance into v_balance;
    v_events := json_build_array(saga_out('account.deposited', v_account::text,
      json_build_object('accountId', v_account, 'depositId', v_id, 'amount', v_amount, 'balance', v_balance)));
  else
    select balance into v_balance from balances where account_id = v_account;
  end if;
  return json_build_object('result', json_build_object('status', 201, 'body',
    json_build_object('depositId', v_id, 'accountId', v_account, 'amount', v_amount, 'balance', v_balance)), 'events', v_events);
end $$;

-- {accountId, withdrawalId, amount}: the REST answer (201) and account.withdrawn; OS409 when short.
create or replace function deposit_withdraw(p json)
returns json language plpgsql as $$
declare
  v_account uuid := (p->>'accountId')::uuid;
  v_id uuid := (p->>'withdrawalId')::uuid;
  v_amount bigint := (p->>'amount')::bigint;
  v_balance bigint;
  v_events json := '[]';
begin
  if deposit_enter('withdrawal', v_account, v_id, v_amount) then
    update balances set balance = balance - v_amount, updated_at = now()
     where account_id = v_account and balance >= v_amount returning balance into v_balance;
    if not found then
      raise exception 'The balance of account % is less than %', v_account, v_amount using errcode = 'OS409';
    end if;
    v_events := json_build_array(saga_out('account.withdrawn', v_account::text,
      json_build_object('accountId', v_account, 'withdrawalId', v_id, 'amount', v_amount, 'balance', v_balance)));
  else
    select balance into v_balance from balances where account_id = v_account;
  end if;
  return json_build_object('result', json_build_object('status', 201, 'body',
    json_build_object('withdrawalId', v_id, 'accountId', v_account, 'amount', v_amount, 'balance', v_balance)), 'events', v_events);
end $$;
`,
];

export const DEPOSIT = 'deposit_add';
export const WITHDRAW = 'deposit_withdraw';
