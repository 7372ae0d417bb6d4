// GENERATED from crates/lti-embed/src/protocol.rs by its unit test: do not edit.
// Regenerate: LTI_EDGE_BLESS=1 cargo test -p lti-embed protocol
// The wasm core's side of the JS <-> wasm contract (what each code means: protocol.rs).

// Operations: k(op, id, x, a, b).
export const OPEN = 1,
  LISTEN = 2,
  IGNORED = 3,
  ORIGIN = 4,
  DATA = 5,
  BAD_DATA = 6,
  LAYOUT = 7,
  SCROLLED = 8,
  SCROLL_FRAME = 9,
  SIZE = 10,
  POST = 11,
  STATS = 12,
  UNSENT = 13,
  CLOSE = 14,
  LIVE = 15,
  T_OPEN = 20,
  T_ORIGIN = 21,
  T_DATA = 22,
  T_HEIGHT = 23,
  T_SELECTED = 24,
  T_SEND = 25,
  T_CAPS = 26,
  T_GET = 27,
  T_PUT = 28,
  T_CLEAR = 29,
  T_FORGET = 30,
  T_CLOSE = 31;

// Effect kinds: [kind, ...args].
export const FX_EMIT = 'e',
  FX_REPLY = 'p',
  FX_POST = 'q',
  FX_FRAME = 'f',
  FX_HEIGHT = 'h',
  FX_READY = 'r',
  FX_WINDOW_SIZE = 'w',
  FX_SCROLL_TO = 't',
  FX_SCROLL_EVENTS = 's',
  FX_UNLOAD = 'u',
  FX_ANNOUNCE = 'a';

// Animation frame kinds of FX_FRAME.
export const FRAME_LAYOUT = 3,
  FRAME_SCROLL = 4;

// Why the data could not be read (BAD_DATA's x).
export const DATA_NOT_SERIALISABLE = 1,
  DATA_NOT_OBJECT = 2,
  DATA_TOO_LARGE = 3;

// Numeric arguments.
export const ARG_ADOPT = 1;

// Results and flags.
export const R_YES = '1',
  R_ERROR = '!',
  R_LOOP = '~';

// Events, in the core's order (bit i of LISTEN's mask).
export const EVENTS = ['resize', 'contentSelected', 'navigation', 'hideModuleHeader', 'moduleNavigation', 'alert', 'close', 'fullWindowLaunch', 'message', 'dropped'];

// Largest message (UTF-16 length checked by the JS side; the core counts UTF-8 bytes).
export const MAX_MESSAGE = 65536;
