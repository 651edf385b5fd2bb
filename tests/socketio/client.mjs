// socket.io-client 4.8 (Node) against the real server, driven by tests/e2e/socketio.rs.
//
// Usage: node client.mjs <scenario> <params as JSON>. Prints one JSON object per line;
// the Rust test asserts on them. A failed step exits non-zero.

import { createRequire } from "node:module";
const require = createRequire(new URL("./node/", import.meta.url));
const { io } = require("socket.io-client");

const TIMEOUT = 10_000;
const out = (obj) => console.log(JSON.stringify(obj));

/// Connects; resolves with the socket, or with the connect_error's message.
function connect(url, { onManager, ...opts }) {
  return new Promise((resolve) => {
    const socket = io(url, { reconnection: false, timeout: TIMEOUT, forceNew: true, ...opts });
    onManager?.(socket.io);
    const timer = setTimeout(() => resolve({ error: "timeout" }), TIMEOUT);
    socket.on("connect", () => {
      clearTimeout(timer);
      resolve({ socket });
    });
    socket.on("connect_error", (err) => {
      clearTimeout(timer);
      socket.close();
      resolve({ error: err.message });
    });
  });
}

const once = (emitter, event) =>
  new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ${event} within 10 s`)), TIMEOUT);
    emitter.once(event, (...args) => {
      clearTimeout(timer);
      resolve(args);
    });
  });

async function transports(p) {
  // Polling first, then the upgrade to a WebSocket.
  let before = null;
  let upgraded = null;
  const opening = connect(p.base, {
    auth: { token: p.agent },
    onManager: (manager) =>
      manager.once("open", () => {
        before = manager.engine.transport.name;
        upgraded = once(manager.engine, "upgrade");
      }),
  });
  const { socket, error } = await opening;
  if (!socket) throw new Error(`connect: ${error}`);
  if (socket.io.engine.transport.name === "polling") await upgraded;
  out({ step: "upgrade", before, after: socket.io.engine.transport.name });
  socket.close();

  // The three ways to give the token.
  for (const [way, opts] of [
    ["auth", { auth: { token: p.agent } }],
    ["query", { query: { token: p.agent }, transports: ["websocket"] }],
    ["header", { extraHeaders: { Authorization: `Bearer ${p.agent}` } }],
    ["header_ws", { extraHeaders: { Authorization: `Bearer ${p.agent}` }, transports: ["websocket"] }],
  ]) {
    const r = await connect(p.base, opts);
    out({ step: "auth", way, connected: !!r.socket, error: r.error ?? null });
    r.socket?.close();
  }

  // Refusals: connect_error with the reason.
  for (const [why, opts] of [
    ["garbage", { auth: { token: "garbage" } }],
    ["none", {}],
    ["expired", { auth: { token: p.expired } }],
    ["expired_query", { query: { token: p.expired }, transports: ["websocket"] }],
  ]) {
    const r = await connect(p.base, opts);
    out({ step: "refused", why, connected: !!r.socket, error: r.error ?? null });
    r.socket?.close();
  }
  const ns = await connect(`${p.base}/admin`, { auth: { token: p.agent } });
  out({ step: "namespace", connected: !!ns.socket, error: ns.error ?? null });
  ns.socket?.close();

  // WebSocket only.
  const ws = await connect(p.ws_only, { auth: { token: p.ws_only_token }, transports: ["websocket"] });
  out({ step: "ws_only", connected: !!ws.socket, transport: ws.socket?.io.engine.transport.name ?? null });
  ws.socket?.close();
  const polling = await connect(p.ws_only, { auth: { token: p.ws_only_token }, transports: ["polling"] });
  out({ step: "ws_only_polling", connected: !!polling.socket, error: polling.error ?? null });
  polling.socket?.close();
}

async function shutdown(p) {
  // Connected (upgraded), then the server stops: `transport close`.
  const { socket, error } = await connect(p.base, { auth: { token: p.agent } });
  if (!socket) throw new Error(`connect: ${error}`);
  if (socket.io.engine.transport.name === "polling") await once(socket.io.engine, "upgrade");
  const closed = once(socket, "disconnect");
  out({ step: "ready" });
  const [reason] = await closed;
  out({ step: "disconnect", reason });
}

async function revoked(p) {
  // Connected, then the session ends (logout): `io server disconnect`.
  const { socket, error } = await connect(p.base, { auth: { token: p.agent } });
  if (!socket) throw new Error(`connect: ${error}`);
  const closed = once(socket, "disconnect");
  out({ step: "ready" });
  const [reason] = await closed;
  out({ step: "disconnect", reason });
}

const scenarios = { transports, shutdown, revoked };
const [scenario, params] = process.argv.slice(2);
scenarios[scenario](JSON.parse(params))
  .then(() => {
    out({ step: "done" });
    process.exit(0);
  })
  .catch((e) => {
    console.error(e);
    process.exit(1);
  });
