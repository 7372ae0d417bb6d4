// The baseline: a careful hand-written JavaScript listener doing the same checks as the module
// for the same messages — sender window identity, exact origin, JSON string or object, size
// limit, subject (or legacy messageType), `.response` ignored, frameResize heights (number,
// "NNpx", "NN%", "max") clamped and coalesced to one layout per animation frame, and
// contentSelected entries checked (entryId; http(s) URLs). Replies go to the sender at its origin.
const MAX = 64 * 1024;
const URL_RE = /^https?:\/\/[^\s\\@/?#]+(?:[/?#][^\s\\]*)?$/i;

export function plainEmbed(iframe, { allowedOrigins, minHeight = 800, maxHeight = Infinity, on = {} }) {
  const allowed = new Set(allowedOrigins);
  const stats = { accepted: 0, dropped: 0, badRequests: 0, ignored: 0, layouts: 0 };
  let pending = null;
  let frame = 0;
  let height = minHeight;
  const layout = () => {
    frame = 0;
    if (pending === null || pending === height) return;
    height = pending;
    pending = null;
    iframe.style.height = `${height}px`;
    stats.layouts += 1;
    on.resize?.({ height });
  };
  const bad = (e, subject, id, message) => {
    stats.badRequests += 1;
    e.source.postMessage({ subject: `${subject}.response`, message_id: id, error: { code: 'bad_request', message } }, e.origin);
  };
  const px = (h) => {
    if (typeof h === 'number') return h;
    if (typeof h !== 'string') return NaN;
    const s = h.trim();
    if (s.toLowerCase() === 'max') return innerHeight;
    if (s.endsWith('%')) return (innerHeight * Number(s.slice(0, -1).trim())) / 100;
    return Number(s.endsWith('px') ? s.slice(0, -2).trim() : s);
  };
  const entry = (v) => {
    if (!v || typeof v !== 'object') return null;
    const id = v.entryId ?? v.entry_id ?? v.id;
    if (!(typeof id === 'string' && id && id.length <= 255) && typeof id !== 'number') return null;
    for (const u of [v.url, v.thumbnailUrl ?? v.thumbnail_url]) if (u != null && (typeof u !== 'string' || !URL_RE.test(u))) return null;
    return { entryId: String(id), url: v.url, title: v.title ?? v.name, thumbnailUrl: v.thumbnailUrl ?? v.thumbnail_url, duration: v.duration };
  };
  function handler(e) {
    if (e.source !== iframe.contentWindow) { stats.ignored += 1; return; }
    if (e.origin === 'null' || !allowed.has(e.origin)) { stats.dropped += 1; return; }
    let m = e.data;
    if (typeof m === 'string') {
      if (m.length > MAX) { stats.dropped += 1; return; }
      try { m = JSON.parse(m); } catch { stats.dropped += 1; return; }
    }
    if (m === null || typeof m !== 'object' || Array.isArray(m)) { stats.dropped += 1; return; }
    const subject = m.subject ?? m.messageType;
    if (typeof subject !== 'string' || !subject || subject.length > 200 || subject.endsWith('.response')) { stats.dropped += 1; return; }
    const id = typeof m.message_id === 'string' || typeof m.message_id === 'number' ? m.message_id : undefined;
    switch (subject) {
      case 'lti.frameResize': {
        const h = px(m.height);
        if (!Number.isFinite(h) || h < 0) return bad(e, subject, id, 'height must be a number, NNpx, NN% or max');
        pending = Math.min(Math.max(Math.ceil(h), minHeight), Math.max(maxHeight, minHeight));
        if (!frame) frame = requestAnimationFrame(layout);
        break;
      }
      case 'lti.contentSelected': {
        const src = m.entries ?? m.entry ?? m.data ?? m;
        const list = Array.isArray(src) ? (src.length && src.length <= 50 ? src.map(entry) : [null]) : [entry(src)];
        if (list.includes(null)) return bad(e, subject, id, 'contentSelected needs valid entries');
        on.contentSelected?.({ entries: list, entry: list[0] });
        break;
      }
      default:
        on.message?.({ subject, origin: e.origin, data: m });
    }
    stats.accepted += 1;
  }
  window.addEventListener('message', handler);
  return { stats, get height() { return height; }, destroy: () => window.removeEventListener('message', handler) };
}
