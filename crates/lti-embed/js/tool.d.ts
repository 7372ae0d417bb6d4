/* Types of the tool entry point (tool.js): ToolClient over the tool-only wasm core. */
export { default, init, initSync, ToolClient } from "./lti_embed.js";
export type { ToolClientOptions, ToolClientEventMap, Capability, StorageError, ContentEntry, ListenOptions, InitInput, SyncInitInput } from "./lti_embed.js";
