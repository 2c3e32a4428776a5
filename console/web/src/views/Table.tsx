/** A table with one row of column headings above its rows. */
import type { ComponentChildren } from "preact";

export function Table({
  class: className,
  head,
  children,
}: {
  class?: string;
  head: string[];
  children: ComponentChildren;
}) {
  return (
    <table class={className}>
      <thead>
        <tr>
          {head.map((h) => (
            <th>{h}</th>
          ))}
        </tr>
      </thead>
      <tbody>{children}</tbody>
    </table>
  );
}
