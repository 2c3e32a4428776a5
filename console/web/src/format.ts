/** Small formatting helpers of the page. */

/** `12:00:01.123` in the browser's time zone. */
export function clock(iso: string): string {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  return `${d.toLocaleTimeString([], { hour12: false })}.${String(d.getMilliseconds()).padStart(3, '0')}`;
}

/** JSON pretty-printed when it is JSON, else the text as it is. */
export function pretty(text: string | null): string {
  if (text === null) return '';
  try {
    return JSON.stringify(JSON.parse(text), null, 2);
  } catch {
    return text;
  }
}

/** The first characters of an id, enough to tell ids apart on a screen. */
export const short = (id: string) => (id.length > 13 ? `${id.slice(0, 8)}…` : id);

/** The event name without the catalogue prefix. */
export const nameOfType = (type: unknown) => String(type).replace(/^dev\.ordersaga\./, '');
