/**
 * The saga map as a picture: the Mermaid flowchart generated from the
 * function registry (the README shows the same one), drawn in the page.
 * Mermaid loads only when this view opens.
 */
import { useEffect, useRef, useState } from 'preact/hooks';
import { api } from '../api.js';

interface SagaMapAnswer {
  diagram: string;
  functions: { name: string; consumes: string[]; emits: string[] }[];
}

/**
 * Put Mermaid's SVG in the page under the console's strict
 * Content-Security-Policy (style-src 'self'): markup may carry no inline
 * styles, so the SVG's <style> becomes a constructed stylesheet and each
 * style attribute is set through the CSSOM, which the policy allows.
 */
function place(container: HTMLElement, markup: string): void {
  const svg = new DOMParser().parseFromString(markup, 'image/svg+xml').documentElement;
  const styles = Array.from(svg.querySelectorAll('style'));
  const sheet = new CSSStyleSheet();
  sheet.replaceSync(styles.map((style) => style.textContent ?? '').join('\n'));
  for (const style of styles) style.remove();
  const styled = Array.from(svg.querySelectorAll<SVGElement>('[style]')).map((el) => {
    const css = el.getAttribute('style') ?? '';
    el.removeAttribute('style');
    return [el, css] as const;
  });
  container.replaceChildren(document.adoptNode(svg));
  document.adoptedStyleSheets = [...document.adoptedStyleSheets.filter((s) => s !== placedSheet), sheet];
  placedSheet = sheet;
  for (const [el, css] of styled) el.style.cssText = css;
}

let placedSheet: CSSStyleSheet | undefined;

export function SagaView() {
  const [map, setMap] = useState<SagaMapAnswer | undefined>();
  const [problem, setProblem] = useState<string | undefined>();
  const drawing = useRef<HTMLDivElement>(null);

  useEffect(() => {
    api<SagaMapAnswer>('GET', 'saga-map').then(setMap, (err: Error) => setProblem(err.message));
  }, []);

  useEffect(() => {
    if (!map || !drawing.current) return;
    let cancelled = false;
    void (async () => {
      const { default: mermaid } = await import('mermaid');
      // The page's own font: Mermaid measures labels before its styles apply.
      mermaid.initialize({
        startOnLoad: false,
        securityLevel: 'strict',
        theme: 'neutral',
        themeVariables: { fontFamily: getComputedStyle(document.documentElement).fontFamily, fontSize: '14px' },
      });
      const { svg } = await mermaid.render('saga-diagram', map.diagram);
      if (!cancelled && drawing.current) place(drawing.current, svg);
    })().catch((err: Error) => setProblem(`the diagram could not be drawn: ${err.message}`));
    return () => {
      cancelled = true;
    };
  }, [map]);

  return (
    <section class="saga">
      <h2>The saga</h2>
      <p class="muted">
        Generated from <code>functions/registry.ts</code>: each function, the events it consumes (dotted: a compensation), what each may emit, the REST routes and
        Knative sources that start a flow.
      </p>
      {problem && <p class="problem">{problem}</p>}
      <div class="diagram" ref={drawing} aria-label="saga diagram" />
      {map && (
        <details>
          <summary>Mermaid source</summary>
          <pre class="data">{map.diagram}</pre>
        </details>
      )}
    </section>
  );
}
