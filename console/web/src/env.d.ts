/** A YAML document imported as data (vite.config.ts parses it at build time). */
declare module '*.yaml' {
  const document: unknown;
  export default document;
}
