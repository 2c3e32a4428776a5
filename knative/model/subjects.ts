/**
 * How Knative matches an OIDC subject against the ones it admits
 * (eventing `pkg/auth/event_policy.go` `SubjectContained`): equal ignoring
 * case, or a prefix when the admitted subject ends in `*`. Free of imports,
 * so that the functions (lib/oidc.ts) apply the very same rule.
 */
export function subjectContained(subject: string, allowed: readonly string[]): boolean {
  return allowed.some((s) => s.toLowerCase() === subject.toLowerCase() || (s.endsWith('*') && subject.startsWith(s.slice(0, -1))));
}
