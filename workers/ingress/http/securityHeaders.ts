/**
 * Headers on every response (OWASP API8). The API serves JSON only, so the browser-facing ones
 * are set to their most restrictive values: nothing may embed, sniff, cache or frame it.
 * HSTS belongs to the TLS terminator in front of the ingress, which is the one speaking HTTPS.
 */
export const securityHeaders: Readonly<Record<string, string>> = Object.freeze({
  'cache-control': 'no-store',
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'content-security-policy': "default-src 'none'; frame-ancestors 'none'",
  'referrer-policy': 'no-referrer',
  'cross-origin-resource-policy': 'same-origin',
});
