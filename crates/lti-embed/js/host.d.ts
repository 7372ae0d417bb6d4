/* Types of the host entry point (host.js): Embed over the host-only wasm core. */
export { default, init, initSync, Embed, liveEmbeds } from "./lti_embed.js";
export type { EmbedOptions, LaunchForm, ContentEntry, EmbedEventMap, EmbedStats, ListenOptions, ResizeDetail, ReadyDetail, ContentSelectedDetail, NavigationDetail, ModuleNavigationDetail, AlertDetail, FullWindowLaunchDetail, MessageDetail, DroppedDetail, InitInput, SyncInitInput } from "./lti_embed.js";
