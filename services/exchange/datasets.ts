/**
 * What a data-sharing node publishes (`GET /exchange/datasets`): the datasets it holds, whose
 * data each is (a natural person's or an organization's), the attributes each returns, with
 * names in both languages, and the purposes each may be shared for. A dataset is served by a
 * source that reads the node's own registries; the catalog is what the OP's consent page names
 * and what the node checks a request against.
 */
import type { Dataset, DatasetCatalog } from '../../infra/data-access-detail.ts';
import { PURPOSES, type Localized } from './purposes.ts';

/** Whose data a request is for; the identifier is checked (format and check character) before it gets here. */
export type DataSubject = { kind: 'natural'; idNumber: string } | { kind: 'legal'; uscc: string };

export interface DatasetSource {
  dataset: Dataset;
  /** The asked attributes of the subject's record (for the item or case the request serves), or null when this node holds none. */
  read(
    subject: DataSubject,
    attributes: string[],
    serves: { item: string | null; case: string | null },
  ): Promise<Record<string, string> | null>;
}

export class Datasets {
  private readonly sources = new Map<string, DatasetSource>();

  constructor(
    private readonly node: string,
    private readonly name: Localized,
  ) {}

  /** Adds a dataset this node holds (the e-license registry and the case system add theirs). */
  add(source: DatasetSource): void {
    if (this.sources.has(source.dataset.id)) throw new Error(`dataset ${source.dataset.id} is added twice`);
    this.sources.set(source.dataset.id, source);
  }

  get(id: string): DatasetSource | undefined {
    return this.sources.get(id);
  }

  catalog(): DatasetCatalog {
    return { node: this.node, name: this.name, purposes: [...PURPOSES], datasets: [...this.sources.values()].map((s) => s.dataset) };
  }
}
