//! The browser module: `Embed` (host pages) and `ToolClient` (tool pages), over web-sys.

mod client;
mod dom;
mod embed;

pub use client::ToolClient;
pub use embed::{live_embeds, Embed};

use wasm_bindgen::prelude::*;

#[wasm_bindgen(typescript_custom_section)]
const TS_TYPES: &'static str = r#"
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
"#;
