/**
 * How a data request crosses the federation, as a cross-tier login does (recognition-routing.ts):
 * from the requesting node up to the first node on the holding node's path (the common ancestor)
 * and down that path to the holder. Each hop posts the request to the next with an entity
 * assertion; the callee checks the assertion through the caller's trust chain, that the caller
 * is the last node of the route, and that the route has no loop. The answer comes back the same
 * way, unchanged: the holder's signed response, or its refusal.
 */
import { postAsEntity } from '../../infra/entity-request.ts';
import type { EntityRuntime } from '../../infra/entity-runtime.ts';
import { HttpError } from '../../infra/errors.ts';
import type { ExchangeFederation } from './exchange-federation.ts';
import type { HoldingNode } from './holding-node.ts';
import { ROUTE_PATH, type RoutedRequest } from './data-request.ts';
import { isRefusalCode, Refusal } from './exchange-refusals.ts';

const HOP_TIMEOUT_MS = 10_000;

/** The holder's answer as it travels back: 200 with `response`, or a refusal's status and body. */
export interface RouteAnswer {
  status: number;
  json: Record<string, unknown>;
}

/** The trust layer's route errors carry the refusal codes; anything else is not ours to rename. */
export function asRefusal(err: unknown): unknown {
  return err instanceof HttpError && !(err instanceof Refusal) && isRefusalCode(err.code) ? new Refusal(err.code, err.message) : err;
}

export class ExchangeRouting {
  constructor(
    private readonly runtime: EntityRuntime,
    private readonly federation: ExchangeFederation,
    private readonly holding: HoldingNode,
  ) {}

  /** Serves the request here when this node holds the data, or passes it to the next node. */
  async relay(request: RoutedRequest): Promise<RouteAnswer> {
    let next: string | null;
    try {
      next = await this.federation.nextHop(request.holder);
    } catch (err) {
      throw asRefusal(err);
    }
    if (next === null) {
      try {
        return { status: 200, json: await this.holding.serve(request) };
      } catch (err) {
        if (!(err instanceof Refusal)) throw err;
        return { status: err.status, json: { error: err.code, error_description: err.message } };
      }
    }
    let answer: RouteAnswer;
    try {
      answer = await postAsEntity({
        from: this.runtime.self.url,
        key: this.runtime.keyRing.signingKey(),
        to: next,
        path: ROUTE_PATH,
        body: request,
        timeoutMs: HOP_TIMEOUT_MS,
      });
    } catch (err) {
      if (err instanceof HttpError) throw new Refusal('node_unreachable', err.message);
      throw err;
    }
    this.runtime.log.info('data request relayed', { request_id: request.request_id, to: next, status: answer.status });
    return answer;
  }
}
