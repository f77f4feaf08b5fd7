/**
 * The dashboard's one event hook: a single EventSource on `/api/events` (SPEC §8).
 *
 * - The browser resumes a dropped stream by itself, sending `Last-Event-ID`, and the server replays
 *   what was missed [RT1]. When the browser gives up (an HTTP error, a server restart that refused
 *   the stream), a new EventSource is opened with `?last_event_id=` of the last event seen, so
 *   nothing is missed across that either.
 * - `onSync` is called whenever the stream is positioned but no event id anchors it (the first
 *   connection, or a resume with nothing seen yet) and after an `event: reset`: the caller then
 *   (re)loads its snapshots, and every later change arrives as an event — nothing falls between.
 */
import { useEffect, useRef, useState } from 'react';
import type { WireEvent, WireEventType } from './api.js';

export type ConnectionState = 'connecting' | 'live' | 'reconnecting';

export interface ServerEventHandlers {
  onEvent(event: WireEvent): void;
  onSync(): void;
  /** The browser gave up on the stream (it will be reopened): a chance to check the session. */
  onLost(): void;
}

/** Every event of the server's map, each listed once: the build fails when the map gains or loses one. */
const EVENT_TYPES = Object.keys({ new_message: true, message_updated: true, conversation_updated: true } satisfies Record<
  WireEventType,
  true
>) as WireEventType[];
const REOPEN_DELAYS_MS = [1000, 2000, 5000, 10_000];

export function useServerEvents(handlers: ServerEventHandlers): ConnectionState {
  const [state, setState] = useState<ConnectionState>('connecting');
  const handlersRef = useRef(handlers);
  useEffect(() => {
    handlersRef.current = handlers;
  });

  useEffect(() => {
    let source: EventSource | null = null;
    let lastEventId: string | null = null;
    let reopenTimer: ReturnType<typeof setTimeout> | undefined;
    let failures = 0;
    let isStopped = false;

    const open = () => {
      const url = lastEventId === null ? '/api/events' : `/api/events?last_event_id=${encodeURIComponent(lastEventId)}`;
      const current = new EventSource(url);
      source = current;
      current.onopen = () => {
        failures = 0;
        setState('live');
        if (lastEventId === null) handlersRef.current.onSync();
      };
      current.onerror = () => {
        setState('reconnecting');
        if (current.readyState !== EventSource.CLOSED || isStopped) return;
        handlersRef.current.onLost();
        const delay = REOPEN_DELAYS_MS[Math.min(failures, REOPEN_DELAYS_MS.length - 1)]!;
        failures += 1;
        reopenTimer = setTimeout(open, delay);
      };
      for (const type of EVENT_TYPES) {
        current.addEventListener(type, (e: MessageEvent<string>) => {
          if (e.lastEventId) lastEventId = e.lastEventId;
          let data: unknown;
          try {
            data = JSON.parse(e.data);
          } catch {
            return;
          }
          handlersRef.current.onEvent({ type, data } as WireEvent);
        });
      }
      current.addEventListener('reset', (e: MessageEvent<string>) => {
        lastEventId = e.lastEventId || null;
        handlersRef.current.onSync();
      });
    };

    open();
    return () => {
      isStopped = true;
      clearTimeout(reopenTimer);
      source?.close();
    };
  }, []);

  return state;
}
