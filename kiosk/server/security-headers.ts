/**
 * The headers every page this project serves carries (the screens, the simulator, the
 * reference back office): a strict CSP (no inline script or style, nothing from elsewhere),
 * no MIME sniffing, no referrer, not framable.
 */
import type { RequestHandler } from 'express';

const CSP = [
  "default-src 'self'",
  "img-src 'self' data:",
  "style-src 'self'",
  "script-src 'self'",
  "connect-src 'self'",
  "frame-ancestors 'none'",
  "form-action 'self'",
].join('; ');

export function securityHeaders(): RequestHandler {
  return (_req, res, next) => {
    res.set('Content-Security-Policy', CSP);
    res.set('X-Content-Type-Options', 'nosniff');
    res.set('Referrer-Policy', 'no-referrer');
    next();
  };
}
