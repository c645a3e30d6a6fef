/** The meaning of `code`, or a generic sentence for a code this page does not know. */
export function meaning(code) {
  return ERROR_CODES[code] || 'See the README for this code.';
}
