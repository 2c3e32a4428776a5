/**
 * The messaging mechanism every function shares, as server-side routines,
 * so that a saga step is ONE statement: its inbox record, its effect and its
 * outbox events commit together or not at all, in one round trip.
 *
 * A step routine takes the step's input (json) and returns
 * `{"result": …, "events": [{"name", "subject", "data"}, …]}`. Each step S
 * gets three wrappers, made from the templates below (`stepWrappers`), which
 * call it directly so that PostgreSQL plans the call once per connection:
 * - `S__consume`: a delivery, at most once per (consumer, source, id). A
 *   redelivery changes nothing and gets the reply the first one produced.
 *   One event is the reply (its id chosen by the caller); several go to
 *   K_SINK through the outbox.
 * - `S__idempotent`: an HTTP request under an Idempotency-Key (SPEC §3).
 * - `S__change`: an HTTP request that needs no key (opening an account).
 *
 * Each wrapper also takes the trace context its events carry (p_trace,
 * `{traceparent, tracestate}` or null: lib/tracing/events.ts); the step
 * reads it with `saga_trace()` to keep it, and an event it returns with
 * its own `traceparent` keeps that one instead (a waiting order's saga).
 *
 * Business refusals are raised with SQLSTATE `OS<http status>` (e.g.
 * `OS409`); lib/errors.ts maps them to the named errors.
 */
export const messagingRoutines = String.raw`
-- A time as the API and the events write it: RFC 3339 in UTC, milliseconds.
create or replace function saga_time(p_time timestamptz)
returns text language plpgsql immutable as $$
begin
  return to_char(p_time at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"');
end $$;

-- The members of object p, then those of object extra: json keeps the order
-- people read (jsonb would sort the keys).
create or replace function saga_json_add(p json, extra json)
returns json language plpgsql immutable as $$
declare
  extra_text text := ltrim(extra::text);
  p_text text := rtrim(p::text);
begin
  if json_typeof(extra) is distinct from 'object' or extra_text ~ '^\{\s*\}$' then
    return p;
  end if;
  if p_text ~ '^\{\s*\}$' then
    return extra;
  end if;
  return (left(p_text, -1) || ', ' || substr(extra_text, 2))::json;
end $$;

-- The CloudEvent of an event a function produces (SPEC §2), as json, with its
-- members in the order people read them; with the distributed-tracing
-- extension (p_trace: {traceparent, tracestate?}) when there is a context.
create or replace function saga_event(p_fn text, p_id uuid, p_name text, p_subject text, p_data json, p_trace json)
returns json language plpgsql volatile as $$
begin
  if p_trace->>'traceparent' is null then
    return json_build_object(
      'specversion', '1.0', 'id', p_id, 'source', '/ordersaga/' || p_fn, 'type', 'dev.ordersaga.' || p_name,
      'subject', p_subject, 'time', saga_time(clock_timestamp()),
      'datacontenttype', 'application/json', 'dataschema', 'https://ordersaga.dev/events/' || p_name || '.json',
      'data', p_data);
  end if;
  return saga_json_add(saga_json_add(json_build_object(
    'specversion', '1.0', 'id', p_id, 'source', '/ordersaga/' || p_fn, 'type', 'dev.ordersaga.' || p_name,
    'subject', p_subject, 'time', saga_time(clock_timestamp()),
    'datacontenttype', 'application/json', 'dataschema', 'https://ordersaga.dev/events/' || p_name || '.json'),
    json_strip_nulls(json_build_object('traceparent', p_trace->>'traceparent', 'tracestate', p_trace->>'tracestate'))),
    json_build_object('data', p_data));
end $$;

-- The trace context of the step running now (what its wrapper was given), or null.
create or replace function saga_trace()
returns json language plpgsql stable as $$
begin
  return nullif(current_setting('ordersaga.trace', true), '')::json;
end $$;

-- Writes events ([{name, subject, data, traceparent?, tracestate?}]) to the
-- outbox; returns their CloudEvents. Each carries its own trace context, or
-- p_trace. A reply is the Broker's to publish, so it is marked published at once.
create or replace function saga_emit(p_fn text, p_delivery text, p_events json, p_first_id uuid, p_trace json)
returns json language plpgsql as $$
declare
  e json;
  ev json;
  eid uuid;
  produced json[] := '{}';
begin
  for e in select value from json_array_elements(coalesce(p_events, '[]'::json)) loop
    eid := case when cardinality(produced) = 0 and p_first_id is not null then p_first_id else gen_random_uuid() end;
    ev := saga_event(p_fn, eid, e->>'name', e->>'subject', e->'data',
                     case when e->>'traceparent' is not null then e else p_trace end);
    insert into outbox (id, source, type, subject, event, delivery, published_at)
    values (eid, '/ordersaga/' || p_fn, 'dev.ordersaga.' || (e->>'name'), e->>'subject', ev, p_delivery,
            case when p_delivery = 'reply' then now() end);
    produced := produced || ev;
  end loop;
  return array_to_json(produced);
end $$;

-- Marks events published, without waiting for the disk: a mark lost to a
-- crash only means the sweep publishes the event again, and consumers dedupe.
create or replace function saga_mark_published(p_ids uuid[])
returns void language plpgsql as $$
begin
  perform set_config('synchronous_commit', 'off', true);
  update outbox set published_at = now() where id = any(p_ids) and published_at is null;
end $$;

-- A step that changes nothing: the delivery is only recorded in the inbox.
create or replace function saga_no_effect(p json)
returns json language plpgsql immutable as $$
begin
  return '{"events": []}'::json;
end $$;

-- One event for a step's outcome: {name, subject, data}.
create or replace function saga_out(p_name text, p_subject text, p_data json)
returns json language plpgsql immutable as $$
begin
  return json_build_object('name', p_name, 'subject', p_subject, 'data', p_data);
end $$;

-- One event that belongs to the saga of trace context p_trace (kept with what it is about), not the step's.
create or replace function saga_out_traced(p_name text, p_subject text, p_data json, p_trace json)
returns json language plpgsql immutable as $$
begin
  if p_trace->>'traceparent' is null then
    return saga_out(p_name, p_subject, p_data);
  end if;
  return json_build_object('name', p_name, 'subject', p_subject, 'data', p_data,
                           'traceparent', p_trace->>'traceparent', 'tracestate', p_trace->>'tracestate');
end $$;
`;

const STEP_NAME = /^[a-z][a-z0-9_]*$/;

/** The three wrappers of step routine `step` (a function of one json argument returning json). */
export function stepWrappers(step: string): string {
  if (!STEP_NAME.test(step)) throw new Error(`${step} is not a step routine's name`);
  return String.raw`
-- Runs step ${step} for one delivery, once per (consumer, source, id).
-- Concurrent duplicates serialize on the inbox's primary key: the second
-- waits for the first to commit, then finds it.
create or replace function ${step}__consume(p_fn text, p_source text, p_id text, p_type text, p_reply_id uuid, p_input json, p_trace json)
returns table (duplicate boolean, events json) language plpgsql as $$
declare
  outcome json;
  n int;
begin
  insert into inbox (consumer, source, id, type, reply_event_id) values (p_fn, p_source, p_id, p_type, p_reply_id)
  on conflict (consumer, source, id) do nothing;
  if not found then
    return query select true, coalesce(
      (select json_build_array(o.event) from inbox i join outbox o on o.id = i.reply_event_id
        where i.consumer = p_fn and i.source = p_source and i.id = p_id), '[]'::json);
    return;
  end if;
  if p_trace is not null then perform set_config('ordersaga.trace', p_trace::text, true); end if;
  outcome := ${step}(p_input);
  n := coalesce(json_array_length(outcome->'events'), 0);
  return query select false, saga_emit(p_fn, case when n = 1 then 'reply' else 'sink' end, outcome->'events',
                                       case when n = 1 then p_reply_id end, p_trace);
end $$;

-- Runs step ${step} once per Idempotency-Key (scoped per account). Its result
-- is {status, body}; a business refusal (OS409) is stored and replayed like a
-- success, any other error stores nothing, so the client may retry. A
-- transaction-scoped advisory lock tells a request still in flight (409)
-- from a replay; a held record (p_hold_seconds) is in flight until
-- completed or expired. PostgreSQL answers a failed statement before its
-- transaction has released its locks, so a client that retries at once
-- would find the lock of a request that is over: the lock is tried for up
-- to 50 ms before the key counts as in flight.
create or replace function ${step}__idempotent(p_fn text, p_scope text, p_key text, p_fingerprint text, p_hold_seconds int, p_input json, p_trace json)
returns table (replayed boolean, status int, body json, events json) language plpgsql as $$
declare
  existing record;
  outcome json;
  v_status int;
  v_body json;
  v_events json := '[]';
  v_lock bigint := hashtextextended('idempotency' || chr(10) || p_scope || chr(10) || p_key, 0);
begin
  for attempt in 1..10 loop
    exit when pg_try_advisory_xact_lock(v_lock);
    if attempt = 10 then
      raise exception 'A request with this Idempotency-Key is still being processed; retry shortly' using errcode = 'OS409';
    end if;
    perform pg_sleep(0.005);
  end loop;
  select k.fingerprint, k.status_code, k.response, coalesce(k.held_until > now(), false) as held into existing
    from idempotency_keys k where k.scope = p_scope and k.key = p_key;
  if found then
    if existing.fingerprint <> p_fingerprint then
      raise exception 'This Idempotency-Key was already used with a different request' using errcode = 'OS422';
    end if;
    if existing.held then
      raise exception 'A request with this Idempotency-Key is still being processed; retry shortly' using errcode = 'OS409';
    end if;
    return query select true, existing.status_code, existing.response, '[]'::json;
    return;
  end if;
  if p_trace is not null then perform set_config('ordersaga.trace', p_trace::text, true); end if;
  begin
    outcome := ${step}(p_input);
    v_status := (outcome->'result'->>'status')::int;
    v_body := outcome->'result'->'body';
    v_events := saga_emit(p_fn, 'sink', outcome->'events', null, p_trace);
  exception when sqlstate 'OS409' then
    v_status := 409;
    v_body := json_build_object('type', 'about:blank', 'title', 'Conflict', 'status', 409, 'detail', sqlerrm);
    v_events := '[]';
  end;
  insert into idempotency_keys (scope, key, fingerprint, status_code, response, held_until)
  values (p_scope, p_key, p_fingerprint, v_status, v_body,
          case when p_hold_seconds > 0 then now() + make_interval(secs => p_hold_seconds) end);
  return query select false, v_status, v_body, v_events;
end $$;

-- Runs step p_step for a request that needs no Idempotency-Key.
create or replace function ${step}__change(p_fn text, p_input json, p_trace json)
returns table (result json, events json) language plpgsql as $$
declare
  outcome json;
begin
  if p_trace is not null then perform set_config('ordersaga.trace', p_trace::text, true); end if;
  outcome := ${step}(p_input);
  return query select outcome->'result', saga_emit(p_fn, 'sink', outcome->'events', null, p_trace);
end $$;

`;
}

/** The step routines among `routines`: every function of one json argument that returns json. */
export function stepNamesOf(routines: readonly string[]): string[] {
  return routines.flatMap((sql) => [...sql.matchAll(/create or replace function (\w+)\s*\(\s*\w+ json\s*\)\s*returns json/gi)].map((m) => m[1]!));
}
