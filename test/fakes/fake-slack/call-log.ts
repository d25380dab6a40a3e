import { waitFor } from '../../helpers/wait.ts';
import type { CallRecord, UnexpectedRequest } from './types.ts';

/** Every Web API request the fake received, and every request it did not expect. */
export class CallLog {
  private readonly records: CallRecord[] = [];
  private readonly surprises: UnexpectedRequest[] = [];
  private readonly pending = new Set<{ method: string; args: Record<string, unknown> }>();

  /** A request that arrived and is still being answered (its latency not yet over). */
  begin(method: string, args: Record<string, unknown>): () => void {
    const entry = { method, args: structuredClone(args) };
    this.pending.add(entry);
    return () => this.pending.delete(entry);
  }

  inFlight(method?: string): Array<{ method: string; args: Record<string, unknown> }> {
    return structuredClone([...this.pending].filter((p) => method === undefined || p.method === method));
  }

  add(record: Omit<CallRecord, 'seq'>): CallRecord {
    const full = { ...record, seq: this.records.length + 1 };
    this.records.push(full);
    return full;
  }

  unexpected(entry: UnexpectedRequest): void {
    this.surprises.push(entry);
  }

  all(): CallRecord[] {
    return structuredClone(this.records);
  }

  to(method: string): CallRecord[] {
    return structuredClone(this.records.filter((r) => r.method === method));
  }

  unexpectedRequests(): UnexpectedRequest[] {
    return structuredClone(this.surprises);
  }

  /** Resolves with the first call to `method` matching `predicate` (already made or still to come). */
  async waitForCall(
    method: string,
    predicate: (call: CallRecord) => boolean = () => true,
    timeoutMs = 5000,
  ): Promise<CallRecord> {
    return waitFor(() => this.to(method).find(predicate), { timeoutMs, what: `a call to ${method}` });
  }
}
