/**
 * RFC 9457 problem details: every error the ingress answers is `application/problem+json` with
 * a stable `type` URI per kind of problem, so clients branch on `type`, never on `detail` text.
 */

/** Media type of every error body. */
export const problemContentType = 'application/problem+json; charset=utf-8';

const typeBase = 'https://fleetstream.dev/problems/';

/** The problem types this API answers with (documented in workers/ingress/README.md). */
export const problemTypes = Object.freeze({
  validation: `${typeBase}validation`,
  invalidPeriod: `${typeBase}invalid-reservation-period`,
  unknownVehicle: `${typeBase}unknown-vehicle`,
  idempotencyKeyReused: `${typeBase}idempotency-key-reused`,
  quotaExceeded: `${typeBase}reservation-quota-exceeded`,
  notCancellable: `${typeBase}reservation-not-cancellable`,
  unauthorized: `${typeBase}unauthorized`,
  forbidden: `${typeBase}forbidden`,
  notFound: `${typeBase}not-found`,
  methodNotAllowed: `${typeBase}method-not-allowed`,
  payloadTooLarge: `${typeBase}payload-too-large`,
  requestTimeout: `${typeBase}request-timeout`,
  unsupportedMediaType: `${typeBase}unsupported-media-type`,
  rateLimited: `${typeBase}rate-limited`,
  serviceUnavailable: `${typeBase}service-unavailable`,
  notReady: `${typeBase}not-ready`,
  internal: `${typeBase}internal`,
});

/** Where an invalid input was found. */
export type InputLocation = 'body' | 'query' | 'path' | 'header';

/** One invalid input, named so a client can point at the field. */
export interface FieldError {
  /** Field, query parameter or header name, e.g. `startsAt`, `limit`, `Idempotency-Key`. */
  field: string;
  in: InputLocation;
  /** JSON Pointer into the body (RFC 9457 §3 example), for body fields only. */
  pointer?: string;
  detail: string;
}

/** The JSON body of a problem response. */
export interface ProblemBody {
  type: string;
  title: string;
  status: number;
  detail: string;
  instance: string;
  errors?: FieldError[];
  [extension: string]: unknown;
}

/** A body field error with its JSON Pointer. */
export function bodyFieldError(field: string, detail: string): FieldError {
  return { field, in: 'body', pointer: bodyPointer([field]), detail };
}

/** The URI-fragment JSON Pointer (RFC 6901) of a place in the body: `#/a/0/b`. */
export function bodyPointer(segments: readonly (string | number)[]): string {
  return `#/${segments.map((s) => String(s).replaceAll('~', '~0').replaceAll('/', '~1')).join('/')}`;
}

/**
 * An error that becomes exactly one problem response. Handlers throw it; the error handler
 * renders it. `retriable` says whether the same request may succeed later unchanged.
 */
export class HttpProblem extends Error {
  readonly status: number;
  readonly type: string;
  readonly title: string;
  readonly detail: string;
  readonly retriable: boolean;
  readonly errors: FieldError[] | undefined;
  /** Extra response headers (Retry-After, WWW-Authenticate, Allow). */
  readonly headers: Readonly<Record<string, string>>;
  /** Extension members added to the body (e.g. `limit` of a quota). */
  readonly extensions: Readonly<Record<string, unknown>>;

  constructor(options: {
    status: number;
    type: string;
    title: string;
    detail: string;
    retriable?: boolean;
    errors?: FieldError[];
    headers?: Record<string, string>;
    extensions?: Record<string, unknown>;
    cause?: unknown;
  }) {
    super(options.detail, { cause: options.cause });
    this.name = 'HttpProblem';
    this.status = options.status;
    this.type = options.type;
    this.title = options.title;
    this.detail = options.detail;
    this.retriable = options.retriable ?? false;
    this.errors = options.errors;
    this.headers = options.headers ?? {};
    this.extensions = options.extensions ?? {};
  }

  /** The response body for the request path `instance`. */
  toBody(instance: string): ProblemBody {
    const body: ProblemBody = {
      ...this.extensions,
      type: this.type,
      title: this.title,
      status: this.status,
      detail: this.detail,
      instance,
    };
    if (this.errors) body.errors = this.errors;
    return body;
  }
}

/** 400 naming each invalid input. */
export function validationProblem(errors: FieldError[], detail = 'the request is invalid'): HttpProblem {
  return new HttpProblem({
    status: 400,
    type: problemTypes.validation,
    title: 'Invalid request',
    detail,
    errors,
  });
}

/** 400: the body is not JSON (empty, malformed, or refused by a strict parser). */
export function invalidJsonProblem(): HttpProblem {
  return validationProblem(
    [{ field: 'body', in: 'body', detail: 'must be valid JSON' }],
    'the body is not valid JSON',
  );
}

/** 404 that says nothing about whether the resource exists for someone else (OWASP API1). */
export function notFoundProblem(detail = 'no resource at this address'): HttpProblem {
  return new HttpProblem({ status: 404, type: problemTypes.notFound, title: 'Not found', detail });
}

/** 503 with Retry-After: a dependency is down; the same request may succeed later. */
export function unavailableProblem(detail: string, retryAfterSeconds: number, cause?: unknown): HttpProblem {
  return new HttpProblem({
    status: 503,
    type: problemTypes.serviceUnavailable,
    title: 'Service unavailable',
    detail,
    retriable: true,
    headers: { 'retry-after': String(Math.max(1, Math.ceil(retryAfterSeconds))) },
    cause,
  });
}

/** 500 with a fixed text: the cause goes to the log, never to the client. */
export function internalProblem(cause?: unknown): HttpProblem {
  return new HttpProblem({
    status: 500,
    type: problemTypes.internal,
    title: 'Internal error',
    detail: 'the request could not be processed; it has been logged',
    cause,
  });
}

/** The path of a request without its query string (the `instance` member). */
export function instanceOf(url: string): string {
  const query = url.indexOf('?');
  return query === -1 ? url : url.slice(0, query);
}
