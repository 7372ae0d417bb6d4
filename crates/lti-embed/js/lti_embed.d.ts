/* Types of the embed kit, hand-written (crates/lti-embed/js/lti_embed.d.ts; the API is js/kit.js). */
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
    /** Maximum height in px (default: none). */
    maxHeight?: number;
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
}

export interface EmbedStats {
    /** Messages from this embed's iframe, allowed origin, parsed and acted on. */
    accepted: number;
    /** From this embed's iframe but refused: origin, not JSON/object, too large, no subject, a reply. */
    dropped: number;
    /** Known subject with a bad payload (answered `bad_request`). */
    badRequests: number;
    /** Posted to the page by another window (another embed, another frame): not read. */
    ignored: number;
    /** Replies sent to the tool. */
    replies: number;
    /** Height changes applied (at most one per animation frame). */
    layouts: number;
}

export interface Embed {
    on<K extends keyof EmbedEventMap>(event: K, listener: (detail: EmbedEventMap[K]) => void): void;
    off<K extends keyof EmbedEventMap>(event: K, listener: (detail: EmbedEventMap[K]) => void): void;
    /** Post a message to the tool at the exact origin it last spoke from. */
    post(message: Record<string, unknown>): void;
    stats(): EmbedStats;
}

/** Options of `new ToolClient(options)`. */
export interface ToolClientOptions {
    /** The host page's exact origin (default: `location.ancestorOrigins[0]`, where available). */
    hostOrigin?: string;
    /** `lti_storage_target` from the launch: "_parent" (default) or a frame name. */
    storageTarget?: string;
    /** The storage target's origin (default: hostOrigin). */
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

export interface ToolClient {
    contentSelected(entries: ContentEntry | ContentEntry[]): void;
    send(subject: string, fields?: Record<string, unknown>): void;
    putData(key: string, value: string | null): Promise<void>;
    getData(key: string): Promise<string | null>;
    capabilities(): Promise<Capability[]>;
}



/**
 * A tool iframe in the host page: launched by URL or form, resized to what the tool reports,
 * with its messages checked and turned into events.
 */
export class Embed {
    free(): void;
    [Symbol.dispose](): void;
    /**
     * Remove the iframe and every listener, timer and frame request of this embed.
     */
    destroy(): void;
    /**
     * Create the iframe in `container` and launch it.
     */
    constructor(container: Element, options: EmbedOptions);
    /**
     * Whether `destroy()` was called.
     */
    readonly destroyed: boolean;
    /**
     * Current height, px.
     */
    readonly height: number;
    /**
     * The iframe element.
     */
    readonly iframe: HTMLIFrameElement;
    /**
     * The frame name (the launch form's target).
     */
    readonly name: string;
}

/**
 * The tool page's side: reports its height, sends content selections, and uses the host's
 * platform storage. Messages go to the parent at the host's exact origin, never `*`.
 */
export class ToolClient {
    free(): void;
    [Symbol.dispose](): void;
    /**
     * Keep reporting the height of `element` (default `<html>`) whenever it changes, through a
     * ResizeObserver (at most once per frame, only on a change of at least 1 px). The height is
     * also reported at once and on `load`: browsers do not render (so do not run observers in)
     * cross-origin frames that are off screen, and a frame pushed below the fold before its first
     * frame would otherwise keep the minimum height until scrolled into view.
     */
    autoResize(element?: Element | null): void;
    /**
     * Stop: remove the listener and the observer; outstanding requests reject.
     */
    destroy(): void;
    /**
     * A client for this page. `hostOrigin` defaults to `location.ancestorOrigins[0]` where the
     * browser provides it; elsewhere it is required.
     */
    constructor(options?: ToolClientOptions | null);
    /**
     * Report the page's height now (measured from `<html>` when no height is given).
     */
    reportHeight(height?: number | null): void;
    /**
     * Stop reporting height changes.
     */
    stopAutoResize(): void;
    /**
     * The host origin messages are sent to.
     */
    readonly hostOrigin: string;
    /**
     * The element whose height is reported, while auto-resizing.
     */
    readonly observedElement: Element | undefined;
}

/**
 * Embeds alive on the page (not yet destroyed).
 */
export function liveEmbeds(): number;

export type InitInput = RequestInfo | URL | Response | BufferSource | WebAssembly.Module;

export interface InitOutput {
    readonly memory: WebAssembly.Memory;
    readonly k: (a: number, b: number, c: number, d: number, e: number, f: number, g: number) => [number, number];
    readonly __wbindgen_externrefs: WebAssembly.Table;
    readonly __wbindgen_malloc: (a: number, b: number) => number;
    readonly __wbindgen_realloc: (a: number, b: number, c: number, d: number) => number;
    readonly __wbindgen_free: (a: number, b: number, c: number) => void;
    readonly __wbindgen_start: () => void;
}

export type SyncInitInput = BufferSource | WebAssembly.Module;

/**
 * Instantiates the given `module`, which can either be bytes or
 * a precompiled `WebAssembly.Module`.
 *
 * @param {{ module: SyncInitInput }} module - Passing `SyncInitInput` directly is deprecated.
 *
 * @returns {InitOutput}
 */
export function initSync(module: { module: SyncInitInput } | SyncInitInput): InitOutput;

/**
 * If `module_or_path` is {RequestInfo} or {URL}, makes a request and
 * for everything else, calls `WebAssembly.instantiate` directly.
 *
 * @param {{ module_or_path: InitInput | Promise<InitInput> }} module_or_path - Passing `InitInput` directly is deprecated.
 *
 * @returns {Promise<InitOutput>}
 */
export default function __wbg_init (module_or_path?: { module_or_path: InitInput | Promise<InitInput> } | InitInput | Promise<InitInput>): Promise<InitOutput>;
