/**
 * A services entity as a node of the data-sharing platform (政务服务数据共享平台): its dataset
 * catalog, access log, holding and requesting sides, routing and the person's view, assembled.
 * Other parts of the entity add the datasets they hold (`datasets.add`).
 */
import type { EntityRuntime } from '../../infra/entity-runtime.ts';
import type { ServiceAccess } from '../service-access/service-access-tokens.ts';
import { AccessLog } from './access-log.ts';
import { consentTokens } from './consent-tokens.ts';
import { Datasets } from './datasets.ts';
import type { ExchangeFederation } from './exchange-federation.ts';
import { exchangeRouter } from './exchange-routes.ts';
import { ExchangeRouting } from './exchange-routing.ts';
import { HoldingNode } from './holding-node.ts';
import { PersonDataUseService } from './person-data-use.ts';
import { RequestingNode } from './requesting-node.ts';

export function exchangeNode(runtime: EntityRuntime, access: ServiceAccess, federation: ExchangeFederation) {
  const datasets = new Datasets(runtime.self.url, runtime.self.name);
  const log = new AccessLog(runtime.db, runtime.self.url, runtime.keyRing);
  const holding = new HoldingNode({
    self: runtime.self.url,
    datasets,
    log,
    blindIndex: runtime.blindIndex,
    tokens: consentTokens(runtime, access),
    keyRing: runtime.keyRing,
    kv: runtime.kv,
    logger: runtime.log,
    nodeKeys: federation.nodeKeys,
  });
  const routing = new ExchangeRouting(runtime, federation, holding);
  const requesting = new RequestingNode(runtime, federation, routing, log);
  const dataUse = new PersonDataUseService(runtime, access, federation, log);
  return {
    datasets,
    log,
    requesting,
    router: exchangeRouter({ runtime, access, federation, datasets, log, routing, requesting, dataUse }),
  };
}
