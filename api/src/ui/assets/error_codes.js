// The stable error codes of items and jobs with their meaning (the README's table).

export const ERROR_CODES = {
  INVALID_URL: 'Not a well-formed TikTok URL (other host, credentials, IP host, odd port).',
  UNSUPPORTED_URL: 'A TikTok URL of another kind (e.g. a profile sent as a video).',
  VIDEO_NOT_FOUND: 'Deleted or never existed (TikTok 10204), or a dead short link.',
  VIDEO_PRIVATE: 'Private post or account (10216 / 10222).',
  VIDEO_REGION_BLOCKED: 'Not available in the egress region (10231).',
  VIDEO_UNDER_REVIEW: 'Under review (10217).',
  AGE_RESTRICTED: 'Needs a logged-in session.',
  VIDEO_TOO_LONG: 'Longer than MAX_VIDEO_DURATION_SECONDS.',
  LOGIN_REQUIRED: 'TikTok asked for a login (often a soft rate limit).',
  UPSTREAM_BLOCKED: 'Captcha, WAF wall or 403.',
  UPSTREAM_RATE_LIMITED: 'TikTok answered 429.',
  UPSTREAM_EMPTY: 'A 200 with an empty body (bot detection).',
  UPSTREAM_CHANGED: 'Page or JSON layout not recognised.',
  UPSTREAM_UNAVAILABLE: '5xx, resets or timeouts of the network.',
  EXTRACTOR_TIMEOUT: 'Extraction exceeded EXTRACT_DEADLINE_SECONDS.',
  CANCELED: 'The job was canceled first.',
  INTERNAL: 'A bug, or a worker that died on every attempt; report it with the request id.',
  HASHTAG_NOT_FOUND: 'No such hashtag.',
  USER_NOT_FOUND: 'No such user.',
  THUMBNAIL_ANALYSIS_FAILED: 'The cover could not be analysed (the item itself still succeeded).',
  JOB_EXPIRED: 'The job is older than the retention period; its items are deleted.',
  COUNT_REACHED: 'The feed gave the requested number of videos.',
  NO_MORE: 'The feed has no more videos.',
};

/** The meaning of `code`, or a generic sentence for a code this page does not know. */
export function meaning(code) {
  return ERROR_CODES[code] || 'See the README for this code.';
}
