// The status page's script (inlined into status-page.html when the gateway
// starts): every second it reads GET /admin/status and redraws the figures,
// the tables and the charts. No library, no build step, nothing fetched from
// elsewhere: the page works on a machine without internet access.
//
// Text from the gateway (model names, reasons) only ever goes in through
// textContent, never as markup.
'use strict';
(() => {
  const REFRESH_MS = 1000;
  /** The charts show at least this much time, so a young gateway's first points do not fill the width. */
  const MIN_SPAN_MS = 60_000;
  const COLORS = { requests: '#0969da', p50: '#8250df', p99: '#bf8700', errors: '#cf222e' };
  const TONES = { READY: 'ok', ready: 'ok', closed: 'ok', LOADING: 'warn', starting: 'warn', draining: 'warn', 'half-open': 'warn', UNAVAILABLE: 'bad', stopped: 'bad', open: 'bad' };

  const $ = (id) => document.getElementById(id);
  let refreshes = 0;
  let latest = null;

  for (const swatch of document.querySelectorAll('[data-series]')) swatch.style.background = COLORS[swatch.dataset.series];

  function cell(content, className) {
    const td = document.createElement('td');
    if (className) td.className = className;
    if (content instanceof Node) td.append(content);
    else td.textContent = content;
    return td;
  }

  function badge(state, reason) {
    const wrap = document.createElement('span');
    const tag = document.createElement('span');
    tag.className = `badge ${TONES[state] || ''}`;
    tag.textContent = state;
    wrap.append(tag);
    if (reason) {
      const why = document.createElement('div');
      why.className = 'reason';
      why.textContent = reason;
      wrap.append(why);
    }
    return wrap;
  }

  function emptyRow(columns, text) {
    const tr = document.createElement('tr');
    const td = cell(text, 'empty');
    td.colSpan = columns;
    tr.append(td);
    return tr;
  }

  const count = (n) => n.toLocaleString('en-US');
  const rate = (perS) => (perS >= 100 ? String(Math.round(perS)) : perS.toFixed(1));

  function formatMs(ms) {
    if (ms === null || ms === undefined) return '–';
    if (ms === 0) return '0';
    if (ms < 1) return `${ms.toFixed(2)} ms`;
    if (ms < 10) return `${ms.toFixed(1)} ms`;
    if (ms < 1000) return `${Math.round(ms)} ms`;
    return `${(ms / 1000).toFixed(2)} s`;
  }

  function formatBytes(bytes) {
    const units = ['B', 'KiB', 'MiB', 'GiB'];
    let value = bytes;
    let unit = 0;
    while (value >= 1024 && unit < units.length - 1) {
      value /= 1024;
      unit++;
    }
    return `${unit === 0 ? value : value.toFixed(1)} ${units[unit]}`;
  }

  function formatDuration(ms) {
    const s = Math.floor(ms / 1000);
    if (s < 60) return `${s} s`;
    if (s < 3600) return `${Math.floor(s / 60)} min ${s % 60} s`;
    if (s < 86400) return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
    return `${Math.floor(s / 86400)} d ${Math.floor((s % 86400) / 3600)} h`;
  }

  function setFigure(id, text, value) {
    const node = $(id);
    node.textContent = text;
    if (value !== undefined) node.dataset.value = String(value);
  }

  function renderModels(models) {
    const rows = [];
    for (const model of models) {
      for (const v of model.versions) {
        const tr = document.createElement('tr');
        tr.dataset.model = model.name;
        tr.dataset.version = v.version;
        tr.dataset.state = v.state;
        tr.append(cell(model.name), cell(v.version), cell(badge(v.state, v.reason)), cell(v.replicas.length ? v.replicas.join(', ') : 'none'));
        rows.push(tr);
      }
    }
    $('models').replaceChildren(...(rows.length ? rows : [emptyRow(4, 'no model')]));
  }

  function renderReplicas(replicas) {
    const rows = replicas.map((r) => {
      const tr = document.createElement('tr');
      tr.dataset.replica = r.id;
      tr.dataset.state = r.state;
      tr.dataset.breaker = r.breaker;
      tr.append(
        cell(r.id),
        cell(badge(r.state)),
        cell(badge(r.breaker)),
        cell(count(r.inFlight), 'num'),
        cell(count(r.completed), 'num'),
        cell(count(r.failed), 'num'),
        cell(count(r.restarts), 'num'),
        cell(r.pid === null ? '–' : String(r.pid), 'num'),
        cell(r.models.join(', ')),
      );
      return tr;
    });
    $('replicas').replaceChildren(...(rows.length ? rows : [emptyRow(9, 'no replica')]));
  }

  function renderCache(cache) {
    setFigure('cache-hit-ratio', cache.hitRatio === null ? '–' : `${(cache.hitRatio * 100).toFixed(1)} %`, cache.hitRatio ?? '');
    setFigure('cache-entries', count(cache.entries), cache.entries);
    setFigure('cache-bytes', formatBytes(cache.bytes), cache.bytes);
    setFigure('cache-hits', count(cache.hits), cache.hits);
    setFigure('cache-misses', count(cache.misses), cache.misses);
  }

  /** A grid step of 1, 2, 2.5 or 5 × 10^k, so that about four steps cover `max`; the axis's top is a whole number of steps. */
  function yAxis(max) {
    if (!(max > 0)) return { step: 0.25, top: 1 };
    const rough = max / 4;
    const power = 10 ** Math.floor(Math.log10(rough));
    const step = [1, 2, 2.5, 5, 10].map((m) => m * power).find((candidate) => candidate >= rough);
    return { step, top: Math.max(step, Math.ceil(max / step - 1e-9) * step) };
  }

  function timeLabel(agoMs) {
    if (agoMs === 0) return 'now';
    return agoMs % 60_000 === 0 ? `−${agoMs / 60_000} min` : `−${agoMs / 1000} s`;
  }

  /** Draws lines of samples over the last minutes; nulls leave gaps. Records what it drew in data-points and data-max. */
  function drawChart(canvas, history, nowMs, series, format) {
    const ratio = window.devicePixelRatio || 1;
    const width = canvas.clientWidth;
    const height = canvas.clientHeight;
    if (canvas.width !== Math.round(width * ratio) || canvas.height !== Math.round(height * ratio)) {
      canvas.width = Math.round(width * ratio);
      canvas.height = Math.round(height * ratio);
    }
    const ctx = canvas.getContext('2d');
    ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
    ctx.clearRect(0, 0, width, height);

    const pad = { left: 56, right: 8, top: 8, bottom: 20 };
    const plotW = Math.max(1, width - pad.left - pad.right);
    const plotH = Math.max(1, height - pad.top - pad.bottom);
    const samples = history.samples;
    const oldestMs = samples.length ? samples[0].atMs : nowMs;
    const spanMs = Math.min(history.windowMs, Math.max(MIN_SPAN_MS, nowMs - oldestMs));
    const startMs = nowMs - spanMs;
    const visible = samples.filter((s) => s.atMs >= startMs);
    let max = 0;
    for (const s of visible) for (const { key } of series) if (s[key] !== null && s[key] > max) max = s[key];
    const { step, top } = yAxis(max);
    const x = (atMs) => pad.left + ((atMs - startMs) / spanMs) * plotW;
    const y = (value) => pad.top + plotH - (value / top) * plotH;

    ctx.font = '11px system-ui, sans-serif';
    ctx.lineWidth = 1;
    ctx.strokeStyle = '#dfe3e8';
    ctx.fillStyle = '#5b6675';
    ctx.textBaseline = 'middle';
    ctx.textAlign = 'right';
    for (let i = 0; i * step <= top + 1e-9; i++) {
      const value = i * step;
      const py = Math.round(y(value)) + 0.5;
      ctx.beginPath();
      ctx.moveTo(pad.left, py);
      ctx.lineTo(pad.left + plotW, py);
      ctx.stroke();
      ctx.fillText(format(value), pad.left - 6, py);
    }
    const stepMs = [10_000, 30_000, 60_000, 120_000, 300_000].find((step) => spanMs / step <= 6) || 300_000;
    ctx.textAlign = 'center';
    ctx.textBaseline = 'top';
    for (let agoMs = 0; agoMs <= spanMs; agoMs += stepMs) ctx.fillText(timeLabel(agoMs), Math.min(x(nowMs - agoMs), pad.left + plotW - 14), pad.top + plotH + 5);

    ctx.lineWidth = 2;
    ctx.lineJoin = 'round';
    for (const { key, color } of series) {
      ctx.strokeStyle = color;
      ctx.beginPath();
      let drawing = false;
      for (const s of visible) {
        if (s[key] === null) {
          drawing = false;
          continue;
        }
        if (drawing) ctx.lineTo(x(s.atMs), y(s[key]));
        else ctx.moveTo(x(s.atMs), y(s[key]));
        drawing = true;
      }
      ctx.stroke();
    }
    const points = visible.filter((s) => s[series[0].key] !== null).length;
    if (points === 0) {
      ctx.fillStyle = '#5b6675';
      ctx.textAlign = 'center';
      ctx.textBaseline = 'middle';
      ctx.fillText(samples.length ? 'no requests in this window' : 'collecting samples…', pad.left + plotW / 2, pad.top + plotH / 2);
    }
    canvas.dataset.points = String(points);
    canvas.dataset.max = String(max);
  }

  function renderCharts(data) {
    const axisRate = (value) => (value >= 100 ? String(Math.round(value)) : String(Math.round(value * 10) / 10));
    const { history, generatedAtMs } = data;
    drawChart($('chart-throughput'), history, generatedAtMs, [{ key: 'requestsPerS', color: COLORS.requests }], axisRate);
    drawChart($('chart-latency'), history, generatedAtMs, [{ key: 'p50Ms', color: COLORS.p50 }, { key: 'p99Ms', color: COLORS.p99 }], formatMs);
    drawChart($('chart-errors'), history, generatedAtMs, [{ key: 'errorsPerS', color: COLORS.errors }], axisRate);
  }

  function render(data) {
    $('version').textContent = data.version;
    $('uptime').textContent = formatDuration(data.generatedAtMs - data.startedAtMs);
    setFigure('total-requests', count(data.totals.requests), data.totals.requests);
    setFigure('total-errors', count(data.totals.errors), data.totals.errors);
    const now = data.history.samples[data.history.samples.length - 1];
    setFigure('current-throughput', now ? rate(now.requestsPerS) : '–');
    setFigure('current-p50', formatMs(now && now.p50Ms));
    setFigure('current-p99', formatMs(now && now.p99Ms));
    renderModels(data.models);
    renderReplicas(data.replicas);
    renderCache(data.cache);
    renderCharts(data);
  }

  function showProblem(text) {
    const banner = $('banner');
    banner.textContent = text;
    banner.className = 'shown';
    $('connection').textContent = 'not updating';
  }

  async function refresh() {
    try {
      // location.origin, not a relative URL: a page opened as http://user:token@host/ would make the request carry
      // the credentials in its URL, which fetch refuses.
      const res = await fetch(`${location.origin}/admin/status`, { credentials: 'same-origin', cache: 'no-store', headers: { accept: 'application/json' } });
      if (!res.ok) {
        const body = await res.json().catch(() => ({}));
        showProblem(`GET /admin/status answered ${res.status}${body.error ? `: ${body.error}` : ''}`);
      } else {
        latest = await res.json();
        render(latest);
        $('banner').className = '';
        $('connection').textContent = `updated ${new Date().toLocaleTimeString()}`;
      }
    } catch (err) {
      showProblem(`cannot reach the gateway: ${err && err.message ? err.message : err}`);
    } finally {
      refreshes++;
      document.body.dataset.refreshes = String(refreshes);
      setTimeout(refresh, REFRESH_MS);
    }
  }

  window.addEventListener('resize', () => latest && renderCharts(latest));
  refresh();
})();
