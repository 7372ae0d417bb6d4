// The tool side of the worker's module page (<module path>/ks/<token>): this file, byte for
// byte, is the content of the page's inline module script, and its SHA-256 is in the page's
// Content-Security-Policy (see web/README.md). Inside an embed it reports the page's height to
// the host and sends lti.contentSelected for every button with data-entry-id (and data-title,
// data-url, data-thumbnail-url: absolute http(s) URLs, data-duration: seconds). The host origin
// is the browser's report of the embedding page (location.ancestorOrigins), else the LMS's
// origin from the launch (#lti-embed-config, written by the worker): Firefox has no
// ancestorOrigins. When neither is known, or the kit cannot load, the page says so in
// #lti-embed-status instead of only in the console.
import init, { ToolClient } from "/embed/v0.1.0/tool.js";
const status = (text) => {
  const el = document.getElementById("lti-embed-status");
  if (el) { el.textContent = text; el.hidden = false; }
  console.warn("lti-embed:", text);
};
if (window.parent !== window) {
  try {
    await init();
    let config = {};
    try { config = JSON.parse(document.getElementById("lti-embed-config")?.textContent || "{}"); } catch {}
    const client = new ToolClient(config.platformOrigin ? { platformOrigin: config.platformOrigin } : {});
    document.documentElement.dataset.hostOrigin = client.hostOrigin;
    document.documentElement.dataset.hostOriginSource = client.hostOriginSource;
    client.on("resizeLoop", ({ message }) => status(message));
    client.autoResize();
    for (const b of document.querySelectorAll("button[data-entry-id]")) {
      b.addEventListener("click", () => client.contentSelected({
        entryId: b.dataset.entryId,
        title: b.dataset.title,
        url: b.dataset.url,
        thumbnailUrl: b.dataset.thumbnailUrl,
        duration: Number(b.dataset.duration) || undefined,
      }));
    }
  } catch (e) {
    status("This page cannot talk to the page embedding it (it will not resize): " + (e && e.message || e));
  }
}
