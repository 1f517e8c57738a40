// What the server reports about itself, gathered into one snapshot that both
// /status (for people) and /metrics (Prometheus text) render.
import type { TransportName } from '../transports/encoder.ts';
import type { BusState } from './bus.ts';
import type { CometContext } from './comet-stream.ts';
import type { Hub, HubStats } from './hub.ts';

export interface Snapshot {
  uptimeSeconds: number;
  memory: NodeJS.MemoryUsage;
  hub: HubStats;
  open: Record<TransportName, number>;
  messagesOut: number;
  bytesOut: number;
  /** State of the bus and the store, by name: `in-process`, `connected`, `reconnecting` … */
  services: Record<string, string>;
  bus: BusState;
  /** The chat's counters (forum events made into lines, dropped, …), by name. */
  chat: Record<string, number>;
}

export function takeSnapshot(hub: Hub, comet: CometContext, services: Record<string, string>, bus: BusState, chat: Record<string, number> = {}): Snapshot {
  return {
    uptimeSeconds: process.uptime(),
    memory: process.memoryUsage(),
    hub: hub.stats(),
    open: { ...comet.open },
    messagesOut: comet.counters.messagesOut,
    bytesOut: comet.counters.bytesOut,
    services,
    bus,
    chat: { ...chat },
  };
}

/** The snapshot in Prometheus' text exposition format. */
export function renderPrometheus(s: Snapshot): string {
  const lines: string[] = [];
  const metric = (name: string, type: 'counter' | 'gauge', help: string, samples: Array<[Record<string, string>, number]>) => {
    lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
    for (const [labels, value] of samples) {
      const text = Object.entries(labels).map(([k, v]) => `${k}="${escapeLabel(v)}"`).join(',');
      lines.push(`${name}${text ? `{${text}}` : ''} ${value}`);
    }
  };
  metric('evcomet_subscribers', 'gauge', 'Open Comet responses by transport.',
    Object.entries(s.open).map(([transport, n]) => [{ transport }, n]));
  metric('evcomet_channel_subscribers', 'gauge', 'Subscribers by channel.',
    s.hub.byChannel.map((c) => [{ channel: c.channel }, c.subscribers]));
  metric('evcomet_channels', 'gauge', 'Channels in the hub.', [[{}, s.hub.channels]]);
  metric('evcomet_buffered_messages', 'gauge', 'Messages kept for resumes.', [[{}, s.hub.buffered]]);
  metric('evcomet_messages_in_total', 'counter', 'Messages published through this process.', [[{}, s.hub.published]]);
  metric('evcomet_messages_delivered_total', 'counter', 'Messages handed to subscribers.', [[{}, s.hub.delivered]]);
  metric('evcomet_messages_out_total', 'counter', 'Messages written to clients.', [[{}, s.messagesOut]]);
  metric('evcomet_bytes_out_total', 'counter', 'Comet bytes written to clients.', [[{}, s.bytesOut]]);
  metric('evcomet_resumes_total', 'counter', 'Subscriptions that resumed from an id.', [[{}, s.hub.resumes]]);
  metric('evcomet_gaps_total', 'counter', 'Resumes that could not continue exactly.', [[{}, s.hub.gaps]]);
  metric('evcomet_slow_subscribers_total', 'counter', 'Subscribers cut off for not reading.', [[{}, s.hub.slow]]);
  metric('evcomet_service_up', 'gauge', 'Whether each service is usable (1) or not (0).',
    Object.entries(s.services).map(([service, state]) => [{ service, state }, /^(in-process|embedded|connected|mysql up)$/.test(state) ? 1 : 0]));
  metric('evcomet_bus_malformed_total', 'counter', 'Messages from the bus dropped as malformed.', [[{}, s.bus.malformed]]);
  metric('evcomet_bus_reconnects_total', 'counter', 'Times the bus came back after losing its broker.', [[{}, s.bus.reconnects]]);
  metric('evcomet_forum_events_total', 'counter', 'Forum events by outcome: line (made into a line), unknown (no template), bad (malformed), unstored (shown but not stored).',
    [['line', 'forumEvents'], ['unknown', 'forumEventsUnknown'], ['bad', 'forumEventsBad'], ['unstored', 'forumEventsUnstored']]
      .map(([outcome, name]) => [{ outcome: outcome! }, s.chat[name!] ?? 0]));
  metric('process_resident_memory_bytes', 'gauge', 'Resident memory.', [[{}, s.memory.rss]]);
  metric('nodejs_heap_used_bytes', 'gauge', 'V8 heap in use.', [[{}, s.memory.heapUsed]]);
  metric('process_uptime_seconds', 'gauge', 'Seconds since the process started.', [[{}, Math.round(s.uptimeSeconds)]]);
  return lines.join('\n') + '\n';
}

function escapeLabel(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
}
