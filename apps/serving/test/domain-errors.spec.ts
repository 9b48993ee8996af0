/**
 * Domain errors (domain/errors.ts) carry no transport status; the gRPC edge maps each kind to one
 * status in one table (grpc/errors.ts toGrpcError), keeping the message (bounded) and, for bad
 * input, the field it names. (That domain folders do not import the gRPC layer is a lint rule.)
 */
import { status } from '@grpc/grpc-js';
import {
  Cancelled,
  DeadlinePassed,
  InvalidInput,
  NoModel,
  NotFound,
  Overloaded,
  ShuttingDown,
  quote,
} from '../src/domain/errors';
import { MAX_MESSAGE_CHARS, toGrpcError } from '../src/grpc/errors';

describe('domain errors at the gRPC edge', () => {
  it('map each kind to its status, message kept', () => {
    const cases: [Error, status][] = [
      [new InvalidInput('user.support[2].value', 'must be finite'), status.INVALID_ARGUMENT],
      [new NotFound('user "u1" not found'), status.NOT_FOUND],
      [new NoModel('no model is promoted yet'), status.FAILED_PRECONDITION],
      [new Overloaded('adaptation queue is full'), status.RESOURCE_EXHAUSTED],
      [new DeadlinePassed('deadline passed before adaptation'), status.DEADLINE_EXCEEDED],
      [new Cancelled('call cancelled'), status.CANCELLED],
      [new ShuttingDown('server is shutting down'), status.UNAVAILABLE],
    ];
    for (const [err, code] of cases) {
      const mapped = toGrpcError(err);
      expect(status[mapped.code]).toBe(status[code]);
      expect(mapped.message).toBe(err.message);
      // Log lines name the error by its class.
      expect(err.name).toBe(err.constructor.name);
    }
    expect(new NotFound('x').name).toBe('NotFound');
    expect(new InvalidInput('k', 'bad').field).toBe('k');
    expect(toGrpcError(new InvalidInput('k', 'bad')).message).toBe('k: bad');
    // Anything else stays INTERNAL without its message; long messages are cut.
    expect(toGrpcError(new Error('secret detail'))).toMatchObject({
      code: status.INTERNAL,
      message: 'internal error',
    });
    const long = toGrpcError(new InvalidInput('f', quote('x'.repeat(5000)) + ' y'.repeat(2000)));
    expect(long.message.length).toBeLessThan(MAX_MESSAGE_CHARS + 20);
  });
});
