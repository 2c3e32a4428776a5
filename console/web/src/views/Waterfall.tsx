/** A trace drawn as a waterfall: a row per span, indented under its parent, a bar for its time. */
import type { Trace } from '../../../server/api-types.js';
import { waterfallOf } from '../waterfall.js';

export function WaterfallView({ trace }: { trace: Trace }) {
  const { rows, totalMs, services } = waterfallOf(trace);
  return (
    <div class="waterfall" aria-label="trace waterfall" data-trace-id={trace.traceId}>
      <p>
        trace <code>{trace.traceId}</code> · {rows.length} spans · {totalMs.toFixed(1)} ms · {services.join(', ')}
      </p>
      {rows.map((r) => (
        <div class={`span kind-${r.span.kind} status-${r.span.status}`} title={`${r.span.service}: ${r.span.name}${r.span.statusMessage ? ` (${r.span.statusMessage})` : ''}`}>
          <span class="name" style={{ paddingLeft: `${r.depth * 12}px` }}>
            <span class="service">{r.span.service}</span> {r.span.name}
          </span>
          <span class="track">
            <span class="bar" style={{ left: `${r.offset * 100}%`, width: `max(2px, ${r.width * 100}%)` }} />
          </span>
          <span class="duration">{r.durationMs.toFixed(1)} ms</span>
        </div>
      ))}
    </div>
  );
}
