import { STATUS_CODES } from 'node:http';
import { DatabaseOperationError } from '../../../db/pgErrors.ts';
import { RetriableError } from '../../runtime/errors/processingErrors.ts';
import { EnqueueError } from '../reservations/reservationCommands.ts';
import {
  HttpProblem,
  internalProblem,
  invalidJsonProblem,
  problemTypes,
  unavailableProblem,
  validationProblem,
} from './problemDetails.ts';

/** Seconds a client should wait after the database failed transiently. */
const databaseRetryAfterSeconds = 2;

/**
 * Turns anything a hook or handler threw into the one problem the client sees. Unknown errors
 * become a fixed 500 text: messages and stacks stay in the log (OWASP API8).
 */
export function problemFor(error: unknown): HttpProblem {
  if (error instanceof HttpProblem) return error;
  if (error instanceof EnqueueError) {
    return error.retriable
      ? unavailableProblem('the request could not be enqueued; retry later', error.retryAfterSeconds, error)
      : internalProblem(error);
  }
  if (error instanceof DatabaseOperationError) {
    return error.retriable
      ? unavailableProblem('the database is unavailable; retry later', databaseRetryAfterSeconds, error)
      : internalProblem(error);
  }
  if (error instanceof RetriableError) {
    // Waited too long for a placement slot (BATCH_QUEUE_TIMEOUT) or arrived while shutting down.
    return unavailableProblem('the service is busy; retry later', databaseRetryAfterSeconds, error);
  }
  const code = (error as { code?: unknown }).code;
  switch (code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new HttpProblem({
        status: 413,
        type: problemTypes.payloadTooLarge,
        title: 'Payload too large',
        detail: 'the request body exceeds the size limit',
        cause: error,
      });
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return unsupportedMediaType(error);
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return invalidJsonProblem();
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return validationProblem([
        { field: 'Content-Length', in: 'header', detail: 'does not match the body' },
      ]);
  }
  const status = (error as { statusCode?: unknown }).statusCode;
  if (typeof status === 'number' && status >= 400 && status < 500) {
    // Any other client error Fastify raises: keep its status, not its wording.
    return new HttpProblem({
      status,
      type: problemTypes.validation,
      title: STATUS_CODES[status] ?? 'Bad request',
      detail: 'the request was refused',
      cause: error,
    });
  }
  return internalProblem(error);
}

/** 415: the API speaks application/json only. */
export function unsupportedMediaType(cause?: unknown): HttpProblem {
  return new HttpProblem({
    status: 415,
    type: problemTypes.unsupportedMediaType,
    title: 'Unsupported media type',
    detail: 'send the body as application/json (UTF-8)',
    headers: { 'accept-post': 'application/json' },
    cause,
  });
}
