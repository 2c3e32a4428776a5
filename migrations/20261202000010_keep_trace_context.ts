import type { Knex } from 'knex';

/**
 * A waiting payment keeps the trace context of its order's saga, so the
 * `payment.charged` a later deposit resumes, or the `payment.declined` of
 * its deadline, belongs to that saga's trace. The messaging routines take
 * the context as one more argument: their older forms are dropped here (the
 * new ones are installed after the migrations, as every routine is).
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    alter table payments add column traceparent text, add column tracestate text;
    ${dropRoutines({ consume: 6, idempotent: 6, change: 2, event: 5, emit: 4 })}
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw(`
    ${dropRoutines({ consume: 7, idempotent: 7, change: 3, event: 6, emit: 5 })}
    drop function if exists saga_out_traced(text, text, json, json);
    drop function if exists saga_trace();
    alter table payments drop column tracestate, drop column traceparent;
  `);
}

/** Drops the messaging routines with these numbers of arguments. */
function dropRoutines(arity: { consume: number; idempotent: number; change: number; event: number; emit: number }): string {
  return `
    do $$
    declare
      r record;
    begin
      for r in select p.oid::regprocedure as signature from pg_proc p join pg_namespace n on n.oid = p.pronamespace
                where n.nspname = current_schema() and (
                  (p.proname like '%\\_\\_consume' and p.pronargs = ${arity.consume})
                  or (p.proname like '%\\_\\_idempotent' and p.pronargs = ${arity.idempotent})
                  or (p.proname like '%\\_\\_change' and p.pronargs = ${arity.change})
                  or (p.proname = 'saga_event' and p.pronargs = ${arity.event})
                  or (p.proname = 'saga_emit' and p.pronargs = ${arity.emit})) loop
        execute 'drop function ' || r.signature;
      end loop;
    end $$;`;
}
