// The tool side of the worker's module page (<module path>/ks/<token>): this file, byte for
// byte, is the content of the page's inline module script, and its SHA-256 is in the page's
// Content-Security-Policy (see web/README.md). Inside an embed it reports the page's height to
// the host and sends lti.contentSelected for every button with data-entry-id (and data-title,
// data-url, data-thumbnail-url: absolute http(s) URLs, data-duration: seconds).
import init, { ToolClient } from "/embed/lti_embed.js";
if (window.parent !== window) {
  try {
    await init();
    const client = new ToolClient();
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
    console.warn("lti-embed:", e);
  }
}
