/* Types of the custom-element entry point (element.js): importing it defines <lti-embed> (and
 * loads the host wasm core by itself). */
import type { Embed, EmbedEventMap, EmbedStats, ReadyDetail } from "./lti_embed.js";
export { default, init, initSync, Embed, liveEmbeds } from "./lti_embed.js";

/** `<lti-embed>` events: the JS API's, lower-cased, as CustomEvents (not bubbling). */
export type LtiEmbedEventMap = { [K in keyof EmbedEventMap as Lowercase<K & string>]: CustomEvent<EmbedEventMap[K]> } & {
    error: CustomEvent<{ message: string }>;
};

export class LtiEmbedElement extends HTMLElement {
    /** The embed inside (null before init finished, after removal, or when options are refused). */
    readonly embed: Embed | null;
    /** Resolves at the tool's first accepted message. */
    readonly ready: Promise<ReadyDetail>;
    readonly height: number;
    readonly iframe: HTMLIFrameElement | null;
    stats(): EmbedStats | null;
    post(message: Record<string, unknown>): void;
    addEventListener<K extends keyof LtiEmbedEventMap>(type: K, listener: (this: LtiEmbedElement, ev: LtiEmbedEventMap[K]) => unknown, options?: boolean | AddEventListenerOptions): void;
    addEventListener(type: string, listener: EventListenerOrEventListenerObject, options?: boolean | AddEventListenerOptions): void;
}

declare global {
    interface HTMLElementTagNameMap {
        "lti-embed": LtiEmbedElement;
    }
}
