/** Form fields as single strings (a repeated field is refused, never merged): null when the body is not such a form. */
export function formFields(body: unknown): Record<string, string> | null {
  const out: Record<string, string> = {};
  if (body && typeof body === 'object') {
    for (const [k, v] of Object.entries(body)) {
      if (typeof v !== 'string') return null;
      out[k] = v;
    }
  }
  return out;
}
