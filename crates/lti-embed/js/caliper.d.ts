/* Types of the caliper entry point (caliper.js): Caliper learning analytics from a tool page,
 * plain JavaScript (no wasm). */

/** Options of `new Caliper(options)`. */
export interface CaliperOptions {
    /** The session token (the module URL's `/ks/<token>`). */
    session: string;
    /** Default `/lti/caliper/events` (the worker's origin). */
    endpoint?: string;
    /** Milliseconds a first queued event waits for others (100–600000, default 5000). */
    flushInterval?: number;
    /** Queued events that trigger a send at once (1–100, default 20). */
    maxBatch?: number;
}
/** The object of an event: `id` an absolute URL or URN; seconds for `duration`. */
export interface CaliperObject { id: string; type?: string; name?: string; mediaType?: string; duration?: number; }
/** Extra fields of assessment events. */
export interface CaliperScore { score?: number; scoreMaximum?: number; count?: number; duration?: number; }
export interface CaliperEventMap {
    sent: { events: number; ids: string[] };
    refused: { status: number; code?: string; fields?: Record<string, string>; events: number };
}
/** One page's reporter: events batched, sent to the worker with the session token, flushed with
 *  `navigator.sendBeacon` when the page is hidden. */
export class Caliper {
    constructor(options: CaliperOptions);
    on<K extends keyof CaliperEventMap>(event: K, listener: (detail: CaliperEventMap[K]) => void): () => void;
    send(event: { id?: string; type: string; action: string; object?: CaliperObject; eventTime?: string; position?: number } & CaliperScore): void;
    media(action: string, media: CaliperObject, position?: number): void;
    view(object: CaliperObject): void;
    navigation(object: CaliperObject): void;
    assessment(action: string, object: CaliperObject, extra?: CaliperScore): void;
    assessmentItem(action: string, object: CaliperObject, extra?: CaliperScore): void;
    loggedOut(): void;
    /** play → Started (then Resumed; Restarted after the end), pause → Paused, seeked → JumpedTo, ended → Ended. */
    trackMedia(el: HTMLMediaElement, media: CaliperObject): () => void;
    flush(options?: { beacon?: boolean }): Promise<void>;
    stats(): { queued: number; sent: number; refused: number; failed: number; beacons: number; pending: number };
    destroy(): void;
}
