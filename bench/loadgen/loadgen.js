// Load generator for bench/: open-loop senders and counting receivers over WebSocket.
//
// One process, one core: it reads a JSON config (argv[2]), runs one mode, prints one JSON
// result on stdout. Latency comes from the time embedded in each message body
// ("t=<µs>;k=<step>;s=<sender>;n=<n>;…", the scheduled send time on this process's clock,
// so generator lag counts against the server, never for it). Receivers never parse JSON:
// they find `"body":"t=` in the raw text (one WebSocket message may carry several frames)
// and read the numbers after it. Its own CPU is reported so that saturated runs can be
// discarded. Every loop is bounded in time; traffic goes only to the URLs it is given.
//
// Protocols: "wp" (Werkplaats /ws, Bearer token), "u" (bench/peers/u_websockets.py, same
// frames, no auth), "sio" (Engine.IO 4 / Socket.IO 5 spoken directly over `ws`).
"use strict";

const fs = require("fs");
const WebSocket = require("ws");

const cfg = JSON.parse(fs.readFileSync(process.argv[2], "utf8"));
const PROTO = cfg.proto;
const PAD = "x".repeat(cfg.body_pad ?? 80);
const BODY_MARK = '"body":"t=';
const nowUs = () => Math.round(performance.now() * 1000);
// client_ids must be new on every run: the server answers a reused one with the original
// ack and stores nothing (idempotent send), which would make a rerun measure nothing.
const RUN = `${process.pid.toString(36)}${Date.now().toString(36)}`;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// ---- HDR-style histogram: µs values, 1/256 relative precision, fixed memory -------------
class Histogram {
  constructor() {
    this.counts = new Map();
    this.n = 0;
    this.max = 0;
  }
  static key(v) {
    if (v < 512) return v;
    const e = Math.floor(Math.log2(v)) - 8;
    return (e << 9) | (v >> e);
  }
  static value(k) {
    if (k < 512) return k;
    const e = k >> 9;
    return ((k & 511) << e) + (1 << e) / 2;
  }
  record(v) {
    v = Math.max(0, Math.round(v));
    const k = Histogram.key(v);
    this.counts.set(k, (this.counts.get(k) || 0) + 1);
    this.n++;
    if (v > this.max) this.max = v;
  }
  summary() {
    if (this.n === 0) return null;
    const keys = [...this.counts.keys()].sort((a, b) => Histogram.value(a) - Histogram.value(b));
    const qs = { p50: 0.5, p90: 0.9, p99: 0.99, p999: 0.999 };
    const out = { n: this.n };
    for (const [name, q] of Object.entries(qs)) {
      const want = Math.ceil(q * this.n);
      let seen = 0;
      for (const k of keys) {
        seen += this.counts.get(k);
        if (seen >= want) {
          out[name] = Math.min(Histogram.value(k), this.max) / 1000;
          break;
        }
      }
    }
    out.max = this.max / 1000;
    return out;
  }
}

// ---- CPU of this process and of the servers ---------------------------------------------
const TICK = 100; // USER_HZ on Linux
function procCpu(pids) {
  let s = 0;
  for (const pid of pids || []) {
    try {
      const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
      const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      s += (Number(f[11]) + Number(f[12])) / TICK;
    } catch {
      /* gone */
    }
  }
  return s;
}
function ownCpu() {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
}
function rss(pids) {
  let kib = 0;
  for (const pid of pids || []) {
    try {
      const m = /VmRSS:\s+(\d+)/.exec(fs.readFileSync(`/proc/${pid}/status`, "utf8"));
      kib += Number(m[1]);
    } catch (e) {
      // A process that is gone holds no memory; any other failure (EMFILE: no descriptor
      // left to open /proc with) leaves the figure unknown, not zero.
      if (e.code !== "ENOENT" && e.code !== "ESRCH") return NaN;
    }
  }
  return kib;
}

// ---- server errors seen by senders (refusals, internal errors): counted and sampled ------
const errors = { count: 0, samples: [] };
function noteErrors(t) {
  let i = 0;
  while ((i = t.indexOf('"type":"error"', i)) !== -1) {
    errors.count++;
    if (errors.samples.length < 3) {
      const start = t.lastIndexOf("{", i);
      errors.samples.push(t.slice(start, t.indexOf("}", i) + 1));
    }
    i += 14;
  }
}

// ---- protocol adapters ------------------------------------------------------------------
function encodeSend(room, body, clientId) {
  const f = { type: "send", room, body, client_id: clientId };
  return PROTO === "sio" ? "42" + JSON.stringify(["send", f]) : JSON.stringify(f);
}
function encodeSubscribe(room, since) {
  if (PROTO === "sio") return "42" + JSON.stringify(["subscribe", { room }]);
  return JSON.stringify({ type: "subscribe", room, since: since ?? null });
}
function encodeUnsubscribe(room) {
  return JSON.stringify({ type: "unsubscribe", room });
}
const isAck = (t) =>
  PROTO === "sio" ? t.startsWith('42["ack"') : t.indexOf('"type":"ack"') !== -1;
function countSubscribed(t) {
  if (PROTO === "sio") return t.startsWith('42["subscribed"') ? 1 : 0;
  let n = 0;
  let i = 0;
  while ((i = t.indexOf('"type":"subscribed"', i)) !== -1) {
    n++;
    i += 19;
  }
  return n;
}

// A connection that is "ready" once hello (or the Socket.IO connect) arrived; `onText` sees
// every later message.
function connect(spec, onText) {
  return new Promise((resolve, reject) => {
    const headers = {};
    if (PROTO === "wp" && spec.token) headers.Authorization = `Bearer ${spec.token}`;
    const url = PROTO === "sio" ? `${spec.url}/socket.io/?EIO=4&transport=websocket` : spec.url;
    // A source address of its own per generator (127.0.0.x): one address pair has ~28,000
    // ephemeral ports, too few for the 100,000-connection form of W6.
    const options = { headers, perMessageDeflate: false, maxPayload: 64 << 20 };
    if (spec.local_address) options.localAddress = spec.local_address;
    const ws = new WebSocket(url, options);
    let ready = false;
    const timer = setTimeout(() => {
      if (!ready) {
        ws.terminate();
        reject(new Error("connect timeout"));
      }
    }, cfg.connect_timeout_ms ?? 30000);
    ws.on("error", (e) => {
      if (!ready) {
        clearTimeout(timer);
        reject(e);
      }
    });
    // The server refuses an upgrade with 503 + Retry-After when too many set-ups wait (429
    // + Retry-After past a socket limit); every refusal is counted by status, and whether
    // it said when to come back.
    ws.on("unexpected-response", (_req, res) => {
      clearTimeout(timer);
      const e = new Error(`upgrade refused: HTTP ${res.statusCode}`);
      const after = res.headers["retry-after"];
      noteRefusal(res.statusCode, after);
      if (after !== undefined) e.retryAfter = Number(after) || 1;
      res.resume();
      ws.terminate();
      reject(e);
    });
    ws.on("close", () => {
      ws.closedAt = ws.closedAt || Date.now();
    });
    ws.on("message", (data, isBinary) => {
      const t = data.toString();
      if (PROTO === "sio") {
        if (t === "2") return ws.send("3");
        if (t[0] === "0" && !ready) return ws.send("40");
      }
      if (!ready) {
        const hello = PROTO === "sio" ? t.startsWith("40") : t.startsWith('{"type":"hello"');
        if (hello) {
          ready = true;
          clearTimeout(timer);
          resolve(ws);
          const rest = t.indexOf("\n");
          if (rest !== -1 && PROTO !== "sio") onText(ws, t.slice(rest + 1));
        }
        return;
      }
      onText(ws, t);
    });
  });
}

// Refusals with Retry-After seen by connectRetrying and the retries they caused (`count`,
// `waited_s`); every refused upgrade by HTTP status (`by_status`), those without
// Retry-After (`without_retry_after`, by status), and the largest Retry-After asked.
const refused = { count: 0, waited_s: 0, by_status: {}, without_retry_after: {}, max_retry_after_s: 0 };
function noteRefusal(status, after) {
  refused.by_status[status] = (refused.by_status[status] || 0) + 1;
  if (after === undefined) {
    refused.without_retry_after[status] = (refused.without_retry_after[status] || 0) + 1;
  } else {
    refused.max_retry_after_s = Math.max(refused.max_retry_after_s, Number(after) || 0);
  }
}

// Connections that failed below HTTP (reset, timed out) and were tried again
// (`retry_network`), by error.
const networkRetries = {};

// `connect`, honouring a refusal's Retry-After as a client does: wait that long with jitter
// (0.5–1.5 ×, so a refused herd does not come back at once) and try again, at most
// `max_retries` times. With `retry_network`, a connection that failed without an HTTP
// answer is tried again as the web client does (web/static/js/ws.js: full jitter, 0.5 s
// doubling to at most 30 s).
async function connectRetrying(spec, onText) {
  let failures = 0;
  for (let attempt = 0; ; attempt++) {
    try {
      return await connect(spec, onText);
    } catch (e) {
      if (attempt >= (cfg.max_retries ?? 100)) throw e;
      if (e.retryAfter !== undefined) {
        refused.count++;
        const wait = e.retryAfter * (0.5 + Math.random());
        refused.waited_s += wait;
        await sleep(wait * 1000);
      } else if (cfg.retry_network && !e.message.startsWith("upgrade refused")) {
        networkRetries[e.message] = (networkRetries[e.message] || 0) + 1;
        await sleep(Math.random() * Math.min(30000, 500 * 2 ** Math.min(failures++, 16)));
      } else {
        throw e;
      }
    }
  }
}

async function openAll(specs, onText, concurrency, retry = false) {
  const conns = new Array(specs.length);
  let next = 0;
  let failed = 0;
  async function worker() {
    while (next < specs.length) {
      const i = next++;
      try {
        conns[i] = await (retry ? connectRetrying : connect)(specs[i], onText);
        conns[i].spec = specs[i];
      } catch (e) {
        failed++;
        if (failed <= 3) process.stderr.write(`connect failed: ${e.message}\n`);
      }
    }
  }
  await Promise.all(Array.from({ length: Math.min(concurrency, specs.length) }, worker));
  return { conns: conns.filter(Boolean), failed };
}

async function subscribeAll(conns, waitMs) {
  let want = 0;
  for (const ws of conns) {
    ws.subsWanted = ws.spec.rooms?.length || 0;
    want += ws.subsWanted;
    for (const room of ws.spec.rooms || []) ws.send(encodeSubscribe(room, null));
  }
  const until = Date.now() + waitMs;
  while (Date.now() < until) {
    const got = conns.reduce((a, ws) => a + Math.min(ws.subsGot || 0, ws.subsWanted), 0);
    if (got >= want) return got;
    await sleep(20);
  }
  return conns.reduce((a, ws) => a + Math.min(ws.subsGot || 0, ws.subsWanted), 0);
}

// Connections the servers closed with 1013 so far, by reason, summed over their /metrics.
async function shedCount(urls) {
  const by = {};
  for (const url of urls) {
    const text = await (await fetch(url)).text();
    for (const m of text.matchAll(/^werkplaats_ws_shed_total\{reason="(\w+)"\} (\S+)$/gm))
      by[m[1]] = (by[m[1]] || 0) + Number(m[2]);
  }
  return by;
}

// ---- fan-out (W1, W2, W3, W7): open-loop at fixed rates ---------------------------------
async function fanout() {
  const steps = cfg.steps;
  const received = steps.map(() => 0);
  const dups = steps.map(() => 0);
  const hists = steps.map(() => new Histogram());
  const ackHists = steps.map(() => new Histogram());
  const acked = steps.map(() => 0);

  function onReceiverText(ws, t) {
    if (ws.subsGot === undefined || ws.subsGot < ws.subsWanted) {
      ws.subsGot = (ws.subsGot || 0) + countSubscribed(t);
    }
    const now = nowUs();
    let i = 0;
    while ((i = t.indexOf(BODY_MARK, i)) !== -1) {
      i += BODY_MARK.length;
      const a = t.indexOf(";", i);
      const sent = Number(t.slice(i, a));
      const b = t.indexOf(";", a + 3);
      const k = Number(t.slice(a + 3, b));
      const c = t.indexOf(";", b + 3);
      const s = t.slice(b + 3, c);
      const d = t.indexOf(";", c + 3);
      const n = Number(t.slice(c + 3, d));
      const last = ws.lastN.get(s);
      if (last !== undefined && n <= last) {
        dups[k]++;
        continue;
      }
      ws.lastN.set(s, n);
      ws.got = (ws.got || 0) + 1;
      received[k]++;
      hists[k].record(now - sent);
      i = d;
    }
  }
  function onSenderText(ws, t) {
    if (ws.spec.rooms?.length) onReceiverText(ws, t);
    noteErrors(t);
    if (!isAck(t)) return;
    let i = 0;
    const now = nowUs();
    while (ws.pending.length && (i = t.indexOf(PROTO === "sio" ? '"ack"' : '"type":"ack"', i)) !== -1) {
      const [k, at] = ws.pending.shift();
      acked[k]++;
      ackHists[k].record(now - at);
      i += 5;
    }
  }
  const t0 = Date.now();
  const rx = await openAll(cfg.receivers, (ws, t) => onReceiverText(ws, t), cfg.concurrency ?? 100);
  for (const ws of rx.conns) ws.lastN = new Map();
  const tx = await openAll(cfg.senders, (ws, t) => onSenderText(ws, t), cfg.concurrency ?? 100);
  for (const ws of tx.conns) {
    ws.lastN = new Map();
    ws.pending = [];
  }
  if (cfg.senders.length && !tx.conns.length) throw new Error("no sender could connect");
  const subscribed = await subscribeAll([...rx.conns, ...tx.conns], 60000);
  const setup = (Date.now() - t0) / 1000;
  // members per room, among the connections that made it
  const members = new Map();
  for (const ws of [...rx.conns, ...tx.conns])
    for (const r of ws.spec.rooms || []) members.set(r, (members.get(r) || 0) + 1);
  await sleep(cfg.settle_ms ?? 500);
  process.stderr.write(`setup done in ${setup}s\n`);

  const shed0 = cfg.metrics_urls ? await shedCount(cfg.metrics_urls) : null;
  const results = [];
  let serial = 0;
  for (let k = 0; k < steps.length; k++) {
    const { rate, duration } = steps[k];
    let expected = 0;
    let sent = 0;
    const cpu0 = ownCpu();
    const scpu0 = procCpu(cfg.server_pids);
    const rcpu0 = procCpu(cfg.redis_pids);
    const w0 = performance.now();
    const start = nowUs();
    const total = Math.round(rate * duration);
    await new Promise((resolve) => {
      function tick() {
        // message n is due at start + n/rate
        const due = Math.min(total, Math.floor(((nowUs() - start) / 1e6) * rate) + 1);
        while (sent < due) {
          const ws = tx.conns[sent % tx.conns.length];
          const at = start + Math.round((sent * 1e6) / rate);
          const sid = ws.spec.id ?? sent % tx.conns.length;
          const body = `t=${at};k=${k};s=${sid};n=${serial};${PAD}`;
          ws.pending.push([k, at]);
          ws.send(encodeSend(ws.spec.room, body, `${RUN}-${serial}`));
          expected += members.get(ws.spec.room) || 0;
          serial++;
          sent++;
        }
        if (sent >= total) return resolve();
        setTimeout(tick, 1);
      }
      tick();
    });
    const sendWall = (performance.now() - w0) / 1000;
    // drain: wait until everything arrived or the drain time is up
    const drainUntil = performance.now() + (cfg.drain_ms ?? 3000);
    while (performance.now() < drainUntil && (received[k] < expected || acked[k] < sent)) {
      await sleep(10);
    }
    const wall = (performance.now() - w0) / 1000;
    const genCpu = ownCpu() - cpu0;
    const serverCpu = procCpu(cfg.server_pids) - scpu0;
    const lat = hists[k].summary();
    const step = {
      rate,
      duration,
      sent,
      acked: acked[k],
      expected,
      received: received[k],
      lost: expected - received[k],
      dup: dups[k],
      latency_ms: lat,
      ack_ms: ackHists[k].summary(),
      deliveries_per_s: received[k] / sendWall,
      wall_s: wall,
      gen_cpu: genCpu / wall,
      server_cpu_s: serverCpu,
      redis_cpu_s: procCpu(cfg.redis_pids) - rcpu0,
      deliveries_per_cpu_s: serverCpu > 0 ? received[k] / serverCpu : null,
      closed: [...rx.conns, ...tx.conns].filter((w) => w.readyState !== WebSocket.OPEN).length,
      server_rss_mib: rss(cfg.server_pids) / 1024,
    };
    if (shed0) {
      const now = await shedCount(cfg.metrics_urls);
      step.shed = Object.fromEntries(Object.entries(now).map(([k, v]) => [k, v - (shed0[k] || 0)]));
    }
    results.push(step);
    process.stderr.write(`step ${JSON.stringify({ rate, p99: lat?.p99, lost: step.lost, gen: step.gen_cpu.toFixed(2) })}\n`);
    if (cfg.stop_p99_ms && (!lat || lat.p99 > cfg.stop_p99_ms || step.lost > 0)) break;
    if (step.gen_cpu > (cfg.gen_saturated ?? 0.9)) break; // the generator is the limit now
    await sleep(cfg.pause_ms ?? 300);
  }
  if (cfg.debug) {
    for (const ws of [...rx.conns, ...tx.conns])
      process.stderr.write(`conn ${ws.spec.id} rooms ${ws.spec.rooms} got ${ws.got || 0} subs ${ws.subsGot}\n`);
  }
  closeAll([...rx.conns, ...tx.conns]);
  return {
    setup_s: setup,
    connected: rx.conns.length + tx.conns.length,
    failed: rx.failed + tx.failed,
    subscribed,
    steps: results,
  };
}

// ---- durable ingest (W4): closed loop, `window` sends in flight per connection ----------
async function ingest() {
  const hist = new Histogram();
  let acks = 0;
  let counting = false;
  let stop = false;
  let serial = 0;
  function sendOne(ws) {
    const at = nowUs();
    ws.pending.push(at);
    ws.send(encodeSend(ws.spec.room, `t=${at};k=0;s=${ws.spec.id};n=${serial};${PAD}`, `${RUN}-${serial++}`));
  }
  const tx = await openAll(
    cfg.senders,
    (ws, t) => {
      noteErrors(t);
      if (!isAck(t)) return;
      let i = 0;
      const now = nowUs();
      const mark = PROTO === "sio" ? '"ack"' : '"type":"ack"';
      while (ws.pending.length && (i = t.indexOf(mark, i)) !== -1) {
        const at = ws.pending.shift();
        if (counting) {
          acks++;
          hist.record(now - at);
        }
        i += 5;
        if (!stop) sendOne(ws);
      }
    },
    cfg.concurrency ?? 100,
  );
  for (const ws of tx.conns) {
    ws.pending = [];
    for (let j = 0; j < (cfg.window ?? 1); j++) sendOne(ws);
  }
  await sleep((cfg.warmup ?? 1) * 1000);
  const cpu0 = ownCpu();
  const scpu0 = procCpu(cfg.server_pids);
  const w0 = performance.now();
  counting = true;
  await sleep(cfg.duration * 1000);
  counting = false;
  const wall = (performance.now() - w0) / 1000;
  stop = true;
  const result = {
    connections: tx.conns.length,
    failed: tx.failed,
    window: cfg.window ?? 1,
    acked: acks,
    acked_per_s: acks / wall,
    ack_ms: hist.summary(),
    gen_cpu: (ownCpu() - cpu0) / wall,
    server_cpu_s: procCpu(cfg.server_pids) - scpu0,
    wall_s: wall,
  };
  await sleep(500);
  closeAll(tx.conns);
  return result;
}

// ---- catch-up (W5): one client, `missed` events behind, repeated ------------------------
async function catchup() {
  const hist = new Histogram();
  let waiting = null;
  let got = 0;
  const [ws] = (
    await openAll([cfg.client], (_ws, t) => {
      let i = 0;
      while ((i = t.indexOf('"type":"message"', i)) !== -1) {
        got++;
        i += 10;
      }
      if (waiting && t.indexOf('"type":"subscribed"') !== -1) waiting();
      if (waiting && t.indexOf('"type":"error"') !== -1) {
        process.stderr.write(`catchup: ${t.slice(0, 300)}\n`);
        waiting();
      }
    }, 1)
  ).conns;
  const counts = [];
  for (let r = 0; r < cfg.repeats; r++) {
    got = 0;
    const done = new Promise((res) => (waiting = res));
    const t = nowUs();
    // Each repeat misses one more event than the last: the server reuses a range it read
    // in the last second (a reconnect storm asks for one range many times), and this
    // measures reading it.
    ws.send(encodeSubscribe(cfg.room, cfg.since - r));
    await Promise.race([done, sleep(5000)]);
    hist.record(nowUs() - t);
    counts.push(got);
    ws.send(encodeUnsubscribe(cfg.room));
    await sleep(50);
  }
  closeAll([ws]);
  return { repeats: cfg.repeats, missed: cfg.last_seq - cfg.since, delivered: counts, ms: hist.summary() };
}

// ---- herd (W5): N clients reconnect at once, each `behind` events behind ----------------
async function herd() {
  const done = [];
  let failed = 0;
  const failures = {};
  let messages = 0;
  let expected = 0;
  const cpu0 = ownCpu();
  const scpu0 = procCpu(cfg.server_pids);
  const t0 = nowUs();
  const specs = cfg.clients;
  const pending = specs.map(
    (spec) =>
      new Promise((resolve) => {
        let finished = false;
        connectRetrying(spec, (ws, t) => {
          let i = 0;
          while ((i = t.indexOf('"type":"message"', i)) !== -1) {
            messages++;
            i += 10;
          }
          if (t.indexOf('"type":"error"') !== -1) noteErrors(t);
          const at = t.indexOf('"type":"subscribed"');
          if (!finished && at !== -1) {
            finished = true;
            const m = /"last_seq":(\d+)/.exec(t.slice(at));
            if (m) expected += Number(m[1]) - spec.since;
            done.push(nowUs() - t0);
            resolve(ws);
          }
        })
          .then((ws) => ws.send(encodeSubscribe(spec.rooms[0], spec.since)))
          .catch((e) => {
            failed++;
            if (failed <= 5) process.stderr.write(`herd connect failed: ${e.message}\n`);
            failures[e.message] = (failures[e.message] || 0) + 1;
            resolve(null);
          });
      }),
  );
  // Those still waiting when the time is up count as not caught up.
  const conns = await Promise.race([
    Promise.all(pending),
    sleep((cfg.herd_wait_s ?? 30) * 1000).then(() => []),
  ]);
  const wall = (nowUs() - t0) / 1e6;
  const serverCpu = procCpu(cfg.server_pids) - scpu0;
  const hist = new Histogram();
  for (const d of done) hist.record(d);
  closeAll(conns.filter(Boolean));
  return {
    clients: specs.length,
    caught_up: done.length,
    failed,
    failures,
    network_retries: networkRetries,
    messages,
    expected_messages: expected,
    all_done_s: done.length ? Math.max(...done) / 1e6 : null,
    within_limit: done.filter((d) => d <= (cfg.limit_s ?? 10) * 1e6).length,
    per_client_ms: hist.summary(),
    refused,
    server_cpu_s: serverCpu,
    wall_s: wall,
    gen_cpu: (ownCpu() - cpu0) / wall,
  };
}

// ---- idle connections (W6): open, subscribe, hold, measure the server's memory ----------
async function idle() {
  const rss0 = rss(cfg.server_pids);
  const t0 = Date.now();
  const { conns, failed } = await openAll(cfg.receivers, (ws, t) => {
    ws.subsGot = (ws.subsGot || 0) + countSubscribed(t);
  }, cfg.concurrency ?? 200, true);
  const subscribed = await subscribeAll(conns, 120000);
  await sleep(cfg.settle_ms ?? 3000);
  const rss1 = rss(cfg.server_pids);
  const open = conns.filter((w) => w.readyState === WebSocket.OPEN).length;
  closeAll(conns);
  return {
    wanted: cfg.receivers.length,
    open,
    failed,
    subscribed,
    setup_s: (Date.now() - t0) / 1000,
    refused,
    rss_before_kib: rss0,
    rss_after_kib: rss1,
    kib_per_connection: open && Number.isFinite(rss1 - rss0) ? (rss1 - rss0) / open : null,
  };
}

function closeAll(conns) {
  for (const ws of conns) {
    try {
      ws.terminate();
    } catch {
      /* already gone */
    }
  }
}

const modes = { fanout, ingest, catchup, herd, idle };
const deadline = setTimeout(() => {
  process.stderr.write("loadgen: time limit reached\n");
  process.exit(3);
}, (cfg.time_limit_s ?? 300) * 1000);
modes[cfg.mode]()
  .then((r) => {
    r.errors = errors;
    process.stdout.write(JSON.stringify(r) + "\n");
    clearTimeout(deadline);
    process.exit(0);
  })
  .catch((e) => {
    process.stderr.write(`loadgen: ${e.stack}\n`);
    process.exit(1);
  });
