/* Types of the embed kit, hand-written (crates/lti-embed/js/lti_embed.d.ts; the API is js/kit.js).
 * This file types the all-in-one module (lti_embed.js); host.d.ts, tool.d.ts and element.d.ts
 * re-export the parts their entry points carry. */
/* tslint:disable */
/* eslint-disable */

/** Options of `new Embed(container, options)`. Give `url` or `form`. */
export interface EmbedOptions {
    /** Launch URL loaded in the iframe with GET: an LMS launch or OIDC login-initiation URL
     *  (absolute https, http on loopback, or a path on this page's origin). */
    url?: string;
    /** A form submitted into the iframe (its target is the embed's frame name). */
    form?: LaunchForm;
    /** The tool's exact origins, e.g. `["https://tool.example.com"]`. No wildcards, no "null". */
    allowedOrigins: string[];
    /** Frame name, unique on the page (default: generated). `[A-Za-z0-9_-]{1,64}`. */
    name?: string;
    /** iframe title for screen readers (default "Learning tool"). */
    title?: string;
    /** Minimum height in px (default 800). */
    minHeight?: number;
    /** Maximum height in px (default 20000; at most 100000). The iframe's style, `height` and the
     *  `resize` event never exceed it. */
    maxHeight?: number;
    /** When `lti.scrollToTop` is honoured: "gesture" (default: only while the user interacts
     *  with the tool — focus in its iframe and transient user activation), "always", "never".
     *  At most one every 2 s whatever the policy. */
    scrollToTop?: "gesture" | "always" | "never";
    /** iframe `allow` (default "autoplay; fullscreen; encrypted-media; picture-in-picture"). */
    allow?: string;
    /** iframe `sandbox` tokens; must keep allow-scripts and allow-same-origin. `false`: no
     *  sandbox attribute. Default: allow-scripts allow-same-origin allow-forms allow-popups
     *  allow-popups-to-escape-sandbox. */
    sandbox?: string | boolean;
    /** Name of a hidden storage frame the tool may post platform-storage requests into
     *  (`lti_storage_target`); announced in `lti.capabilities`. */
    storageFrame?: string;
}

export interface LaunchForm {
    action: string;
    /** "post" (default) or "get". */
    method?: "post" | "get";
    fields?: Record<string, string>;
}

/** A content entry (KAF guide §6). */
export interface ContentEntry {
    entryId: string;
    url?: string;
    title?: string;
    thumbnailUrl?: string;
    duration?: number;
    width?: number;
    height?: number;
}

export interface ResizeDetail { height: number; requested: number | string; }
export interface ReadyDetail { origin: string; }
export interface ContentSelectedDetail { entries: ContentEntry[]; entry: ContentEntry; }
export type NavigationDetail = { location: string } | { path: string };
export interface ModuleNavigationDetail { show: boolean; }
export interface AlertDetail {
    body: string;
    alertType?: "success" | "warning" | "error" | "info";
    title?: string;
    screenReader: boolean;
}
export interface FullWindowLaunchDetail {
    url: string;
    launchType: "same_window" | "new_window" | "popup";
    width?: number;
    height?: number;
}
export interface MessageDetail {
    subject: string;
    messageId?: string | number;
    origin: string;
    data: Record<string, unknown>;
}
export interface DroppedDetail { reason: string; origin?: string; subject?: string; }

export interface EmbedEventMap {
    resize: ResizeDetail;
    contentSelected: ContentSelectedDetail;
    navigation: NavigationDetail;
    hideModuleHeader: Record<string, never>;
    moduleNavigation: ModuleNavigationDetail;
    alert: AlertDetail;
    close: Record<string, never>;
    fullWindowLaunch: FullWindowLaunchDetail;
    message: MessageDetail;
    dropped: DroppedDetail;
    /** The tool's first accepted message. */
    ready: ReadyDetail;
}

/** Options of `on`/`once`. */
export interface ListenOptions {
    /** Remove the listener after its first call. */
    once?: boolean;
    /** Remove the listener when this signal aborts. */
    signal?: AbortSignal;
}

export interface EmbedStats {
    /** Messages from this embed's iframe, allowed origin, parsed and acted on. */
    accepted: number;
    /** From this embed's iframe but refused: origin, not JSON/object, too large, no subject, a
     *  reply, a navigation target that is not http(s) or a relative path. */
    dropped: number;
    /** Known subject with a bad payload (answered `bad_request`). */
    badRequests: number;
    /** Posted to the page by another window (another embed, another frame): not read. */
    ignored: number;
    /** Replies sent to the tool. */
    replies: number;
    /** Height changes applied (at most one per animation frame). */
    layouts: number;
    /** Dropped by the embed's rate limits: over 500 messages a second (not even read), or a
     *  message that would be answered over 100 replies a second (bursts of 100). */
    rateLimited: number;
    /** `lti.scrollToTop` honoured. */
    scrolls: number;
    /** `lti.scrollToTop` refused (policy, no user gesture in the frame, or within 2 s). */
    scrollsRefused: number;
    /** The current height, px. */
    height: number;
    /** The maximum height, px. */
    maxHeight: number;
}

/** An error the kit throws: a sentence naming what to change. */
export type EmbedError = Error;

/**
 * A tool iframe in the host page: launched by URL or form, resized to what the tool reports,
 * with its messages checked and turned into events.
 */
export class Embed {
    /** Create the iframe in `container` and launch it. Throws if `container` is not an Element,
     *  if the options are refused (the message names the option), or before `await init()`. */
    constructor(container: Element, options: EmbedOptions);
    /** Adopt an iframe the page already rendered (an LMS theme's): `url`/`form` optional;
     *  `destroy()` leaves the iframe in place. */
    static attach(iframe: HTMLIFrameElement, options: EmbedOptions): Embed;
    /** Resolves with `{origin}` at the tool's first accepted message; rejects if the embed is
     *  destroyed first. */
    readonly ready: Promise<ReadyDetail>;
    /** Listen to an event; returns a function that removes the listener. */
    on<K extends keyof EmbedEventMap>(event: K, listener: (detail: EmbedEventMap[K]) => void, options?: ListenOptions): () => void;
    /** Listen once; returns a function that removes the listener. */
    once<K extends keyof EmbedEventMap>(event: K, listener: (detail: EmbedEventMap[K]) => void, options?: ListenOptions): () => void;
    /** The next event's detail (rejects with `signal.reason` if the signal aborts first). */
    once<K extends keyof EmbedEventMap>(event: K, options?: { signal?: AbortSignal }): Promise<EmbedEventMap[K]>;
    /** Remove a listener (the same function that was passed to `on`). */
    off<K extends keyof EmbedEventMap>(event: K, listener: (detail: EmbedEventMap[K]) => void): void;
    /** Post a message to the tool at the exact origin it last spoke from. */
    post(message: Record<string, unknown>): void;
    /** Counters (the last values after `destroy()`). */
    stats(): EmbedStats;
    /** Remove the iframe (an adopted one stays) and every listener, timer and frame request of
     *  this embed, and free its state in the wasm core. Idempotent. */
    destroy(): void;
    /** Same as `destroy()`. */
    free(): void;
    /** Same as `destroy()`: `using embed = new Embed(…)`. */
    [Symbol.dispose](): void;
    /** Whether `destroy()` was called. */
    readonly destroyed: boolean;
    /** Current height, px: the iframe's style height and the last `resize` event's. */
    readonly height: number;
    /** The iframe element. */
    readonly iframe: HTMLIFrameElement;
    /** The frame name (the launch form's target). */
    readonly name: string;
}

/** Options of `new ToolClient(options)`. */
export interface ToolClientOptions {
    /** The host page's exact origin. Default: `location.ancestorOrigins[0]` where the browser
     *  reports it, else `platformOrigin`. */
    hostOrigin?: string;
    /** The LMS's origin as the launch knows it: the host origin when the browser does not report
     *  the embedding page's (Firefox has no `location.ancestorOrigins`). */
    platformOrigin?: string;
    /** `lti_storage_target` from the launch: "_parent" (default) or a frame name. */
    storageTarget?: string;
    /** The storage target's origin (default: the host origin). */
    storageOrigin?: string;
    /** Storage request timeout in ms (default 2000). */
    timeoutMs?: number;
}

/** An entry of the `lti.capabilities` answer. */
export interface Capability { subject: string; frame?: string; }

/** Rejections of storage requests carry the LTI error code. */
export interface StorageError extends Error {
    code: "unsupported_subject" | "bad_request" | "storage_exhaustion" | "timeout" | "error" | string;
}

export interface ToolClientEventMap {
    /** Auto-resize stopped: the page's height follows its frame's (a resize feedback loop). */
    resizeLoop: { message: string };
}

/**
 * The tool page's side: reports its height, sends content selections, and uses the host's
 * platform storage. Messages go to the parent at the host's exact origin, never `*`.
 */
export class ToolClient {
    /** A client for this page; throws when no host origin can be determined (see
     *  `ToolClientOptions.hostOrigin`). */
    constructor(options?: ToolClientOptions | null);
    /** The host origin messages are sent to. */
    readonly hostOrigin: string;
    /** Where `hostOrigin` came from. */
    readonly hostOriginSource: "hostOrigin" | "ancestorOrigins" | "platformOrigin";
    /** Report the page's height now (measured from `<html>` when no height is given). */
    reportHeight(height?: number | null): void;
    /** Keep reporting the height of `element` (default `<html>`) whenever it changes (at most
     *  once per frame, only on a change of at least 1 px), at once and on `load`. Stops by
     *  itself when the page's height follows its frame's height (`resizeLoop`). */
    autoResize(element?: Element | null): void;
    /** Stop reporting height changes. */
    stopAutoResize(): void;
    /** The element whose height is reported, while auto-resizing. */
    readonly observedElement: Element | undefined;
    /** Why auto-resize stopped by itself, or null. */
    readonly resizeLoop: string | null;
    on<K extends keyof ToolClientEventMap>(event: K, listener: (detail: ToolClientEventMap[K]) => void, options?: ListenOptions): () => void;
    once<K extends keyof ToolClientEventMap>(event: K, listener: (detail: ToolClientEventMap[K]) => void, options?: ListenOptions): () => void;
    once<K extends keyof ToolClientEventMap>(event: K, options?: { signal?: AbortSignal }): Promise<ToolClientEventMap[K]>;
    contentSelected(entries: ContentEntry | ContentEntry[]): void;
    send(subject: string, fields?: Record<string, unknown>): void;
    putData(key: string, value: string | null): Promise<void>;
    getData(key: string): Promise<string | null>;
    capabilities(): Promise<Capability[]>;
    /** Stop: remove the listener and the observer; outstanding requests reject; frees the core's
     *  state. Idempotent. */
    destroy(): void;
    /** Same as `destroy()`. */
    free(): void;
    /** Same as `destroy()`. */
    [Symbol.dispose](): void;
}

/** Embeds alive on the page (their state in the wasm core; destroyed ones are gone). */
export function liveEmbeds(): number;

export type InitInput = RequestInfo | URL | Response | BufferSource | WebAssembly.Module;
export type SyncInitInput = BufferSource | WebAssembly.Module;

/**
 * Load the wasm core. Without an argument it is fetched from next to the module
 * (`new URL("<name>_bg.wasm", import.meta.url)`) with the Subresource Integrity hash the build
 * wrote into the module. Idempotent. Rejects with a sentence when the page's CSP blocks it
 * (`'wasm-unsafe-eval'` in script-src, the kit's origin in connect-src).
 */
export default function init(module_or_path?: { module_or_path: InitInput | Promise<InitInput> } | InitInput | Promise<InitInput>): Promise<void>;
export { init };
/** Instantiate from bytes or a compiled module, synchronously. */
export function initSync(module: { module: SyncInitInput } | SyncInitInput): void;
