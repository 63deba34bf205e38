(function () {
  'use strict';
  var D = JSON.parse(document.getElementById('cnnmem-data').textContent);
  var SVGNS = 'http://www.w3.org/2000/svg';
  // The JSON order of tags, and the order they stack in (persistent at the bottom).
  var TAGS = ['weight', 'grad', 'optimizer_state', 'activation', 'activation_grad', 'workspace',
              'input'];
  var STACK = ['weight', 'grad', 'optimizer_state', 'input', 'activation', 'activation_grad',
               'workspace'];
  var LABEL = {weight: 'weights', grad: 'gradients', optimizer_state: 'optimizer state',
               activation: 'activations', activation_grad: 'activation gradients',
               workspace: 'workspace', input: 'input batch'};
  var COLOR = {weight: '#4e79a7', grad: '#f28e2b', optimizer_state: '#e15759',
               activation: '#59a14f', activation_grad: '#b07aa1', workspace: '#9c755f',
               input: '#76b7b2'};
  var PHASE_COLOR = {load: '#d0d0d0', forward: '#cfe8c9', loss: '#f6df98', backward: '#e3d3ea',
                     update: '#cddcf0', recompute: '#f7c9d4'};

  function svg(name, attrs, parent, text) {
    var e = document.createElementNS(SVGNS, name);
    for (var k in attrs) e.setAttribute(k, attrs[k]);
    if (text !== undefined) e.textContent = text;
    if (parent) parent.appendChild(e);
    return e;
  }
  function html(name, attrs, parent, text) {
    var e = document.createElement(name);
    for (var k in attrs) e.setAttribute(k, attrs[k]);
    if (text !== undefined) e.textContent = text;
    if (parent) parent.appendChild(e);
    return e;
  }
  function tip(node, text) { svg('title', {}, node, text); }
  function r2(v) { return Math.round(v * 100) / 100; }
  function grouped(n) { return String(n).replace(/\B(?=(\d{3})+(?!\d))/g, ','); }
  function human(b) {
    var a = Math.abs(b);
    if (a >= 1099511627776) return (b / 1099511627776).toFixed(2) + ' TiB';
    if (a >= 1073741824) return (b / 1073741824).toFixed(2) + ' GiB';
    if (a >= 1048576) return (b / 1048576).toFixed(1) + ' MiB';
    if (a >= 1024) return (b / 1024).toFixed(1) + ' KiB';
    return b + ' B';
  }
  function unitFor(max) {
    if (max >= 1099511627776) return {div: 1099511627776, name: 'TiB'};
    if (max >= 1073741824) return {div: 1073741824, name: 'GiB'};
    if (max >= 1048576) return {div: 1048576, name: 'MiB'};
    if (max >= 1024) return {div: 1024, name: 'KiB'};
    return {div: 1, name: 'B'};
  }
  function niceStep(range, count) {
    var raw = range / count;
    if (!(raw > 0)) return 1;
    var p = Math.pow(10, Math.floor(Math.log10(raw)));
    var m = raw / p;
    return (m <= 1 ? 1 : m <= 2 ? 2 : m <= 5 ? 5 : 10) * p;
  }
  function tickText(v, u) { return String(Math.round(v / u.div * 1000) / 1000) + ' ' + u.name; }
  function newSvg(parent, w, h, cls, label) {
    return svg('svg', {viewBox: '0 0 ' + w + ' ' + h, width: w, height: h, 'class': cls,
                       role: 'img', 'aria-label': label}, parent);
  }
  function section(title, note, parent) {
    var s = html('section', {}, parent || document.getElementById('main'));
    html('h2', {}, s, title);
    if (note) html('p', {'class': 'note'}, s, note);
    return s;
  }
  function byTag(obj) { return TAGS.map(function (t) { return obj[t] || 0; }); }
  function sum(a) { return a.reduce(function (x, y) { return x + y; }, 0); }
  function legend(parent, values, extra) {
    var box = html('div', {'class': 'legend'}, parent);
    STACK.slice().reverse().forEach(function (tag) {
      var item = html('div', {'class': 'legend-item tag-' + tag}, box);
      html('span', {'class': 'swatch', style: 'background:' + COLOR[tag]}, item);
      html('span', {'class': 'legend-name'}, item, LABEL[tag]);
      if (values) {
        html('span', {'class': 'legend-value'}, item,
             human(values[TAGS.indexOf(tag)]) + (extra ? extra(tag) : ''));
      }
    });
    return box;
  }
  // A vertical bytes axis with grid lines from x0 to x1.
  function bytesAxisY(g, x0, x1, yOf, max, title, top, bottom) {
    var u = unitFor(max);
    var step = niceStep(max / u.div, 6) * u.div;
    for (var v = 0; v <= max * 1.0001; v += step) {
      var y = r2(yOf(v));
      svg('line', {x1: x0, x2: x1, y1: y, y2: y, 'class': 'grid'}, g);
      svg('text', {x: x0 - 6, y: y + 4, 'class': 'tick', 'text-anchor': 'end'}, g,
          tickText(v, u));
    }
    var mid = (top + bottom) / 2;
    svg('text', {x: 14, y: mid, 'class': 'axis-title', 'text-anchor': 'middle',
                 transform: 'rotate(-90 14 ' + mid + ')'}, g, title);
  }
  // A horizontal bytes axis with grid lines from y0 to y1.
  function bytesAxisX(g, y0, y1, xOf, lo, hi, title, left, right) {
    var u = unitFor(hi);
    var step = niceStep((hi - lo) / u.div, 6) * u.div;
    for (var v = Math.ceil(lo / step) * step; v <= hi * 1.0001; v += step) {
      var x = r2(xOf(v));
      svg('line', {x1: x, x2: x, y1: y0, y2: y1, 'class': 'grid'}, g);
      svg('text', {x: x, y: y1 + 16, 'class': 'tick', 'text-anchor': 'middle'}, g,
          tickText(v, u));
    }
    svg('text', {x: (left + right) / 2, y: y1 + 36, 'class': 'axis-title',
                 'text-anchor': 'middle'}, g, title);
  }

  // ---- one step: the timeline and what sets the peak ----

  function cards(parent, items) {
    var box = html('div', {'class': 'cards'}, parent);
    items.forEach(function (it) {
      var c = html('div', {'class': 'card' + (it.cls ? ' ' + it.cls : '')}, box);
      html('div', {'class': 'card-label'}, c, it.label);
      html('div', {'class': 'card-value'}, c, it.value);
      if (it.sub) html('div', {'class': 'card-sub'}, c, it.sub);
    });
  }

  function drawTimeline(parent) {
    var ops = D.ops, n = ops.length, peak = D.peak;
    var W = 900, H = 470, L = 82, R = 18, T = 52, B = 84;
    var s = newSvg(parent, W, H, 'chart timeline', 'live bytes by tag over the step');
    var max = Math.max(peak.bytes * 1.1, 1);
    var pw = (W - L - R) / n;
    function x(i) { return r2(L + i * pw); }
    function y(v) { return r2(T + (H - T - B) * (1 - v / max)); }
    bytesAxisY(s, L, W - R, y, max, 'live bytes (aligned)', T, H - B);
    var lower = ops.map(function () { return 0; });
    STACK.forEach(function (tag) {
      var k = TAGS.indexOf(tag);
      var upper = ops.map(function (op, i) { return lower[i] + op.live[k]; });
      var d = 'M' + x(0) + ',' + y(upper[0]);
      for (var i = 0; i < n; ++i) d += 'H' + x(i + 1) + (i + 1 < n ? 'V' + y(upper[i + 1]) : '');
      d += 'V' + y(lower[n - 1]);
      for (var j = n - 1; j >= 0; --j) d += 'H' + x(j) + (j > 0 ? 'V' + y(lower[j - 1]) : '');
      d += 'Z';
      var p = svg('path', {d: d, 'class': 'series tag-' + tag, fill: COLOR[tag], 'data-tag': tag},
                  s);
      tip(p, LABEL[tag] + ' (' + tag + '): up to ' + human(D.tag_peaks[tag] || 0) +
             ', ' + human(peak.by_tag[tag] || 0) + ' at the peak');
      lower = upper;
    });
    // Phases of the step under the axis.
    var py = H - B + 8;
    for (var a = 0; a < n;) {
      var b = a;
      while (b + 1 < n && ops[b + 1].p === ops[a].p) ++b;
      var rect = svg('rect', {x: x(a), y: py, width: r2(x(b + 1) - x(a)), height: 16,
                              'class': 'phase phase-' + ops[a].p,
                              fill: PHASE_COLOR[ops[a].p] || '#eee'}, s);
      tip(rect, ops[a].p + ': ops ' + a + '\u2013' + b);
      if (x(b + 1) - x(a) > 8 * ops[a].p.length) {
        svg('text', {x: r2((x(a) + x(b + 1)) / 2), y: py + 12, 'class': 'phase-label',
                     'text-anchor': 'middle'}, s, ops[a].p);
      }
      a = b + 1;
    }
    var stepX = Math.max(1, Math.round(niceStep(n, 10)));
    for (var t = 0; t < n; t += stepX) {
      svg('line', {x1: x(t + 0.5), x2: x(t + 0.5), y1: H - B, y2: H - B + 5, 'class': 'axis'}, s);
      svg('text', {x: x(t + 0.5), y: H - B + 40, 'class': 'tick', 'text-anchor': 'middle'}, s,
          String(t));
    }
    svg('line', {x1: L, x2: W - R, y1: H - B, y2: H - B, 'class': 'axis'}, s);
    svg('text', {x: (L + W - R) / 2, y: H - 12, 'class': 'axis-title', 'text-anchor': 'middle'},
        s, 'op of the step, in order (' + n + ' ops; hover for names and bytes)');
    // One hover column per op.
    ops.forEach(function (op, i) {
      var col = svg('rect', {x: x(i), y: T, width: r2(pw), height: H - B - T, 'class': 'op-col',
                             'data-op': i}, s);
      var lines = ['op ' + i + ': ' + op.n + ' (' + op.p + ')',
                   'live: ' + human(sum(op.live)) + ' (' + grouped(sum(op.live)) + ' B)'];
      STACK.slice().reverse().forEach(function (tag) {
        var v = op.live[TAGS.indexOf(tag)];
        if (v > 0) lines.push('  ' + LABEL[tag] + ': ' + human(v));
      });
      if (op.f > 0) lines.push(grouped(Math.round(op.f)) + ' FLOP');
      if (op.ms !== undefined) lines.push(op.ms.toFixed(3) + ' ms');
      tip(col, lines.join('\n'));
    });
    // The peak, marked and named.
    var cx = x(peak.op_index + 0.5), cy = y(peak.bytes);
    svg('line', {x1: cx, x2: cx, y1: T - 14, y2: H - B, 'class': 'peak-marker'}, s);
    var dot = svg('circle', {cx: cx, cy: cy, r: 6, 'class': 'peak-dot'}, s);
    tip(dot, 'peak: ' + grouped(peak.bytes) + ' B at op ' + peak.op_index + ' ' + peak.op);
    var right = cx > W / 2;
    svg('text', {x: right ? cx - 8 : cx + 8, y: T - 20, 'class': 'peak-label',
                 'text-anchor': right ? 'end' : 'start'}, s,
        'peak ' + human(peak.bytes) + ' at op ' + peak.op_index + ': ' + peak.op);
  }

  function drawPeakBar(parent) {
    var W = 440, H = 58, L = 4, R = 4;
    var s = newSvg(parent, W, H, 'chart peak-bar', 'bytes by tag at the peak');
    var total = Math.max(D.peak.bytes, 1), x = L;
    STACK.forEach(function (tag) {
      var v = D.peak.by_tag[tag] || 0;
      if (v <= 0) return;
      var w = (W - L - R) * v / total;
      var seg = svg('rect', {x: r2(x), y: 6, width: r2(w), height: 30,
                             'class': 'peak-seg tag-' + tag, fill: COLOR[tag]}, s);
      tip(seg, LABEL[tag] + ': ' + human(v) + ' (' + (100 * v / total).toFixed(1) + '%)');
      if (w > 46) {
        svg('text', {x: r2(x + w / 2), y: 26, 'class': 'seg-label', 'text-anchor': 'middle'}, s,
            Math.round(100 * v / total) + '%');
      }
      x += w;
    });
    svg('text', {x: L, y: 52, 'class': 'tick'}, s, '0');
    svg('text', {x: W - R, y: 52, 'class': 'tick', 'text-anchor': 'end'}, s, human(total));
  }

  function drawBuffers(parent) {
    var rows = D.buffers, W = 440, row = 21, NAME = 186, VALUE = 70, top = 4;
    var H = top + row * rows.length + 8;
    var s = newSvg(parent, W, H, 'chart buffers', 'largest buffers live at the peak');
    var max = Math.max.apply(null, rows.map(function (b) { return b.bytes; }).concat([1]));
    var barMax = W - NAME - VALUE - 8;
    rows.forEach(function (b, i) {
      var yy = top + i * row;
      var w = Math.max(1, barMax * b.bytes / max);
      var g = svg('g', {'class': 'buffer tag-' + b.tag}, s);
      var name = b.name.length > 27 ? b.name.slice(0, 26) + '\u2026' : b.name;
      svg('text', {x: NAME - 4, y: yy + row - 8, 'class': 'bar-label', 'text-anchor': 'end'}, g,
          name);
      svg('rect', {x: NAME, y: yy, width: r2(w), height: row - 4, 'class': 'buffer-bar tag-' + b.tag,
                   fill: COLOR[b.tag]}, g);
      svg('text', {x: r2(NAME + w + 4), y: yy + row - 8, 'class': 'bar-value'}, g, human(b.bytes));
      tip(g, b.name + ' (' + b.tag + '): ' + grouped(b.bytes) + ' B, live ops ' + b.first +
             '\u2013' + b.last);
    });
  }

  // One sentence: what is live all step, and what comes on top of it at the peak.
  function peakSentence(parent) {
    var p = D.peak, persistent = 0, parts = [];
    ['weight', 'grad', 'optimizer_state'].forEach(function (t) { persistent += p.by_tag[t] || 0; });
    ['activation', 'activation_grad', 'workspace', 'input'].forEach(function (t) {
      if ((p.by_tag[t] || 0) > 0) {
        parts.push({t: t, v: p.by_tag[t]});
      }
    });
    parts.sort(function (a, b) { return b.v - a.v; });
    var names = ['weight', 'grad', 'optimizer_state'].filter(function (t) {
      return (p.by_tag[t] || 0) > 0;
    }).map(function (t) { return LABEL[t]; });
    var who = names.length > 1 ? names.slice(0, -1).join(', ') + ' and ' + names[names.length - 1]
                               : names.join('');
    var text = who.charAt(0).toUpperCase() + who.slice(1) + ' stay live the whole step: ' +
               human(persistent) + ' (' +
               Math.round(100 * persistent / Math.max(p.bytes, 1)) + '% of the peak). ' +
               'On top of them at op ' + p.op_index + ' (' + p.op + ', ' + p.phase + '): ' +
               parts.map(function (x) { return LABEL[x.t] + ' ' + human(x.v); }).join(', ') + '.';
    html('p', {'class': 'peak-sentence'}, parent, text);
  }

  function drawLayers(parent) {
    var rows = D.layers, W = 900, row = 30, L = 170, R = 90, top = 8;
    var H = top + row * rows.length + 48;
    var s = newSvg(parent, W, H, 'chart layers', 'bytes per layer');
    var max = 1;
    rows.forEach(function (l) { max = Math.max(max, l.params, l.acts); });
    function x(v) { return L + (W - L - R) * v / max; }
    bytesAxisX(s, top, H - 44, x, 0, max, 'bytes per layer', L, W - R);
    rows.forEach(function (l, i) {
      var yy = top + i * row + 3;
      var g = svg('g', {'class': 'layer'}, s);
      svg('text', {x: L - 6, y: yy + 17, 'class': 'bar-label', 'text-anchor': 'end'}, g, l.name);
      [['params', 'weight', l.params], ['acts', 'activation', l.acts]].forEach(function (k, j) {
        var w = r2(x(k[2]) - L);
        var yb = yy + j * 12;
        svg('rect', {x: L, y: yb, width: w, height: 11, 'class': 'layer-bar ' + k[0],
                     fill: COLOR[k[1]]}, g);
        if (k[2] > 0) {
          svg('text', {x: L + w + 4, y: yb + 10, 'class': 'bar-value small'}, g, human(k[2]));
        }
      });
      tip(g, l.name + ': parameters ' + human(l.params) + ', ' + D.layer_acts_label + ' ' +
             human(l.acts));
    });
  }

  function statsTable(parent) {
    var m = D.memory, p = m.predicted, me = m.measured, tb = m.textbook;
    var t = html('table', {'class': 'stats'}, parent);
    var head = html('tr', {}, html('thead', {}, t));
    ['', 'textbook', 'predicted', me ? 'measured' : 'measured (run with --measure)', '']
        .forEach(function (h) { html('th', {}, head, h); });
    var body = html('tbody', {}, t);
    function line(name, tag, a, b, c) {
      var tr = html('tr', tag ? {'class': 'tag-' + tag} : {}, body);
      var th = html('th', {}, tr);
      if (tag) html('span', {'class': 'swatch', style: 'background:' + COLOR[tag]}, th);
      th.appendChild(document.createTextNode(name));
      [a, b, c].forEach(function (v) {
        html('td', {}, tr, v === null || v === undefined ? '\u2013' : grouped(v));
      });
      var ok = c === null || c === undefined ? '' : b === c ? 'equal' : 'DIFFERS';
      html('td', {'class': ok === 'DIFFERS' ? 'bad' : 'good'}, tr, ok);
    }
    STACK.forEach(function (tag) {
      line(LABEL[tag], tag, tb.by_tag[tag], p.by_tag[tag], me ? me.by_tag[tag] : null);
    });
    line('peak', null, tb.total_bytes, p.peak_bytes, me ? me.peak_bytes : null);
    line('arena reserved', null, null, p.arena_bytes, me ? me.arena_bytes : null);
    line('lower bound', null, null, p.lower_bound_bytes, me ? me.lower_bound_bytes : null);
    var tr = html('tr', {}, body);
    html('th', {}, tr, 'peak at op');
    html('td', {}, tr, '');
    html('td', {}, tr, p.peak_at.op_index + ' ' + p.peak_at.op);
    html('td', {}, tr, me ? me.peak_at.op_index + ' ' + me.peak_at.op : '\u2013');
    html('td', {'class': me && me.peak_at.op_index !== p.peak_at.op_index ? 'bad' : 'good'}, tr,
         me ? (me.peak_at.op_index === p.peak_at.op_index ? 'equal' : 'DIFFERS') : '');
  }

  function stepPage() {
    var main = document.getElementById('main');
    var m = D.memory, peak = D.peak;
    var items = [
      {label: 'peak (' + D.source + ')', value: human(peak.bytes), sub: grouped(peak.bytes) + ' B',
       cls: 'card-peak'},
      {label: 'peak set at op ' + peak.op_index, value: peak.op, sub: peak.phase + ' phase'},
      {label: 'arena reserved', value: human(m.predicted.arena_bytes),
       sub: 'lower bound ' + human(m.predicted.lower_bound_bytes)},
      {label: 'parameters', value: grouped(m.params), sub: human(peak.by_tag.weight) + ' of weights'}
    ];
    if (m.outside_arena) {
      items.push({label: 'outside the arena', value: human(m.outside_arena.rss_peak_bytes),
                  sub: 'peak RSS of the process'});
    }
    cards(main, items);
    var grid = html('div', {'class': 'grid2'}, main);
    var left = section('Live memory over the step, by tag',
                       (D.source === 'measured' ? 'Measured by the arena in step ' + D.step +
                        ' (the last one run).' : 'Predicted from the schedule (nothing run).') +
                       ' Each column is one op; the stack is every buffer live while it runs.',
                       grid);
    drawTimeline(left);
    legend(left, byTag(peak.by_tag), function (tag) {
      return ' at the peak, max ' + human(D.tag_peaks[tag] || 0);
    });
    var right = section('What sets the peak', null, grid);
    html('h3', {}, right, 'At op ' + peak.op_index + ' (' + peak.op + '): ' + human(peak.bytes));
    drawPeakBar(right);
    peakSentence(right);
    html('h3', {}, right, 'Largest buffers live at the peak');
    drawBuffers(right);
    if (D.buffers_rest.count > 0) {
      html('p', {'class': 'note'}, right, '+ ' + D.buffers_rest.count + ' smaller buffers: ' +
           human(D.buffers_rest.bytes));
    }
    var layers = section('Per layer: parameters and ' + D.layer_acts_label,
                         'Parameters: the layer\'s weight-tagged tensors. ' + D.layer_acts_note);
    var lg = html('div', {'class': 'legend'}, layers);
    [['weight', 'parameters'], ['activation', D.layer_acts_label]].forEach(function (k) {
      var it = html('div', {'class': 'legend-item'}, lg);
      html('span', {'class': 'swatch', style: 'background:' + COLOR[k[0]]}, it);
      html('span', {'class': 'legend-name'}, it, k[1]);
    });
    drawLayers(layers);
    var table = section('Predicted and measured', 'Bytes at the peak per tag (aligned to 64 B). ' +
                        'The textbook is weights + gradients + optimizer state + batch \u00d7 ' +
                        'feature maps.');
    statsTable(table);
    if (D.why && D.why.length) {
      html('h3', {}, table, 'Why the textbook estimate differs');
      var ul = html('ul', {}, table);
      D.why.forEach(function (w) { html('li', {}, ul, w); });
    }
  }

  // ---- comparisons ----

  // Stacked horizontal bars by tag, a row each: [{label, by_tag, note, outline}]
  function stackedRows(parent, rows, lowerBound) {
    var W = 1000, row = 34, L = 250, R = 210, top = lowerBound ? 26 : 10;
    var H = top + row * rows.length + 48;
    var s = newSvg(parent, W, H, 'chart stacked-rows', 'bytes by tag per row');
    var max = 1;
    rows.forEach(function (r) { max = Math.max(max, r.total, r.outline || 0); });
    function x(v) { return L + (W - L - R) * v / max; }
    bytesAxisX(s, top, H - 44, x, 0, max, 'bytes at the peak', L, W - R);
    rows.forEach(function (r, i) {
      var yy = top + i * row + 5, acc = 0;
      var g = svg('g', {'class': 'row'}, s);
      svg('text', {x: L - 8, y: yy + 17, 'class': 'bar-label', 'text-anchor': 'end'}, g, r.label);
      STACK.forEach(function (tag) {
        var v = r.by_tag[tag] || 0;
        if (v <= 0) return;
        var seg = svg('rect', {x: r2(x(acc)), y: yy, width: r2(x(acc + v) - x(acc)), height: 24,
                               'class': 'seg tag-' + tag, fill: COLOR[tag]}, g);
        tip(seg, r.label + ': ' + LABEL[tag] + ' ' + human(v));
        acc += v;
      });
      if (r.outline) {
        var o = svg('rect', {x: L, y: yy - 3, width: r2(x(r.outline) - L), height: 30,
                             'class': 'arena-outline'}, g);
        tip(o, r.label + ': arena ' + grouped(r.outline) + ' B');
      }
      svg('text', {x: r2(x(Math.max(r.total, r.outline || 0))) + 6, y: yy + 17,
                   'class': 'bar-value'}, g, human(r.total) + (r.note ? '  ' + r.note : ''));
    });
    if (lowerBound) {
      var lx = r2(x(lowerBound));
      svg('line', {x1: lx, x2: lx, y1: 16, y2: H - 44, 'class': 'lower-bound'}, s);
      svg('text', {x: lx, y: 12, 'class': 'lb-label', 'text-anchor': 'middle'}, s,
          'lower bound ' + human(lowerBound));
    }
  }

  function scatter(parent, points, xTitle, xFmt) {
    var W = 1000, H = 430, L = 90, R = 30, T = 24, B = 60;
    var s = newSvg(parent, W, H, 'chart scatter', 'peak memory against cost');
    var ymax = 1, xmax = 0, xmin = 0;
    points.forEach(function (p) {
      ymax = Math.max(ymax, p.y); xmax = Math.max(xmax, p.x); xmin = Math.min(xmin, p.x);
    });
    ymax *= 1.1;
    if (xmax === xmin) xmax = xmin + 1;
    var xpad = (xmax - xmin) * 0.08;
    var x0 = xmin - (xmin < 0 ? xpad : 0), x1 = xmax + xpad;
    function x(v) { return r2(L + (W - L - R) * (v - x0) / (x1 - x0)); }
    function y(v) { return r2(T + (H - T - B) * (1 - v / ymax)); }
    bytesAxisY(s, L, W - R, y, ymax, 'peak bytes', T, H - B);
    var step = niceStep(x1 - x0, 8);
    for (var v = Math.ceil(x0 / step) * step; v <= x1; v += step) {
      svg('line', {x1: x(v), x2: x(v), y1: T, y2: H - B, 'class': 'grid'}, s);
      svg('text', {x: x(v), y: H - B + 16, 'class': 'tick', 'text-anchor': 'middle'}, s, xFmt(v));
    }
    svg('text', {x: (L + W - R) / 2, y: H - 14, 'class': 'axis-title', 'text-anchor': 'middle'},
        s, xTitle);
    var curve = points.filter(function (p) { return p.curve; })
                      .sort(function (a, b) { return a.x - b.x; });
    if (curve.length > 1) {
      svg('polyline', {points: curve.map(function (p) { return x(p.x) + ',' + y(p.y); }).join(' '),
                       'class': 'curve'}, s);
    }
    points.forEach(function (p, i) {
      var g = svg('g', {'class': 'point-group'}, s);
      svg('circle', {cx: x(p.x), cy: y(p.y), r: 6, 'class': 'point' + (p.curve ? ' budget' : '')},
          g);
      svg('text', {x: x(p.x) + 9, y: y(p.y) - 8 + (i % 2) * 20, 'class': 'point-label'}, g,
          p.label);
      tip(g, p.label + ': peak ' + human(p.y) + ', ' + xTitle + ' ' + xFmt(p.x));
    });
  }

  function dataTable(parent, head, rows) {
    var t = html('table', {'class': 'stats'}, parent);
    var tr = html('tr', {}, html('thead', {}, t));
    head.forEach(function (h) { html('th', {}, tr, h); });
    var body = html('tbody', {}, t);
    rows.forEach(function (r) {
      var row = html('tr', {}, body);
      r.forEach(function (c, i) { html(i === 0 ? 'th' : 'td', {}, row, c); });
    });
  }

  function optimizersPage() {
    var rows = D.data.rows;
    var s = section('Memory at the peak by tag, per optimizer',
                    'A stacked bar per configuration: its bytes at the peak of one training step' +
                    ' (' + (D.measured ? 'measured' : 'predicted') + ').');
    stackedRows(s, rows.map(function (r) {
      return {label: r.optimizer, by_tag: r.by_tag, total: r.peak_bytes,
              note: r.peak_moved_from_sgd ? 'peak moved: ' + r.peak_at.op : ''};
    }));
    legend(s, null);
    var t = section('Table', null);
    dataTable(t, ['optimizer', 'state B/param', 'peak', 'gradients', 'optimizer state',
                  'activations', 'peak at', 'ms/step'], rows.map(function (r) {
      return [r.optimizer, r.state_bytes_per_param.toFixed(2), grouped(r.peak_bytes),
              grouped(r.by_tag.grad), grouped(r.tag_peaks.optimizer_state),
              grouped(r.by_tag.activation), r.peak_at.op,
              r.ms_per_step === null ? '\u2013' : r.ms_per_step.toFixed(1)];
    }));
  }

  function reusePage() {
    var ok = D.data.rows.filter(function (r) { return !r.error; });
    var lb = ok.length ? Math.min.apply(null, ok.map(function (r) { return r.lower_bound_bytes; }))
                       : 0;
    var s = section('Arena bytes per strategy, against the lower bound',
                    'Bars: bytes live at the peak, by tag (the same for every strategy that keeps ' +
                    'the schedule); outline: what the arena reserves; dashed line: the lower ' +
                    'bound no planner can beat (' + human(lb) + ').');
    stackedRows(s, ok.map(function (r) {
      return {label: r.strategy, by_tag: r.by_tag, total: r.peak_bytes, outline: r.arena_bytes,
              note: 'arena ' + human(r.arena_bytes)};
    }), lb);
    legend(s, null);
    var over = section('Arena over the lower bound', 'What each planner wastes: arena bytes minus ' +
                       'the most bytes live at one op.');
    var W = 1000, row = 30, L = 250, R = 200, top = 8, H = top + row * ok.length + 48;
    var sv = newSvg(over, W, H, 'chart over', 'arena over the lower bound');
    var max = 1;
    ok.forEach(function (r) { max = Math.max(max, r.over_lower_bound_bytes); });
    function x(v) { return L + (W - L - R) * v / max; }
    bytesAxisX(sv, top, H - 44, x, 0, max, 'bytes over the lower bound', L, W - R);
    ok.forEach(function (r, i) {
      var yy = top + i * row + 4;
      var g = svg('g', {'class': 'row'}, sv);
      svg('text', {x: L - 8, y: yy + 16, 'class': 'bar-label', 'text-anchor': 'end'}, g, r.strategy);
      svg('rect', {x: L, y: yy, width: r2(Math.max(0, x(r.over_lower_bound_bytes) - L)), height: 22,
                   'class': 'bar over-bar'}, g);
      svg('text', {x: r2(x(r.over_lower_bound_bytes)) + 6, y: yy + 16, 'class': 'bar-value'}, g,
          human(r.over_lower_bound_bytes) + ' (' +
          (100 * r.over_lower_bound_bytes / r.lower_bound_bytes).toFixed(2) + '%)');
    });
    var t = section('Table', null);
    dataTable(t, ['strategy', 'arena', 'peak live', 'lower bound', 'over', 'ms/image'],
              D.data.rows.map(function (r) {
                if (r.error) return [r.strategy, r.error, '', '', '', ''];
                return [r.strategy, grouped(r.arena_bytes), grouped(r.peak_bytes),
                        grouped(r.lower_bound_bytes), grouped(r.over_lower_bound_bytes),
                        r.ms_per_image.toFixed(3)];
              }));
  }

  function sweepPage() {
    var rows = D.data.rows;
    var measured = rows.length > 0 && rows[0].measured !== undefined;
    function pct(r) {
      return r.forward_flops > 0 ? 100 * r.recompute_flops / r.forward_flops : 0;
    }
    var s = section('Peak memory against recomputation',
                    'Each point is a checkpointing policy; the line joins the budget curve. ' +
                    'Left: less recomputation, more memory.');
    scatter(s, rows.map(function (r) {
      return {x: pct(r), y: r.predicted.peak_bytes, label: r.policy,
              curve: r.policy.indexOf('budget:') === 0};
    }), 'recomputed forward FLOPs per step (% of the forward pass)',
    function (v) { return Math.round(v) + '%'; });
    if (measured) {
      var st = section('Peak memory against step time', 'Measured: seconds per training step.');
      scatter(st, rows.map(function (r) {
        return {x: r.step_seconds, y: r.predicted.peak_bytes, label: r.policy,
                curve: r.policy.indexOf('budget:') === 0};
      }), 'seconds per step', function (v) { return v.toFixed(3) + ' s'; });
    }
    var b = section('Memory at the peak by tag, per policy', null);
    stackedRows(b, rows.map(function (r) {
      return {label: r.policy, by_tag: r.predicted.by_tag, total: r.predicted.peak_bytes,
              note: r.kept.length + ' kept'};
    }));
    legend(b, null);
    var t = section('Table', null);
    dataTable(t, ['policy', 'kept', 'recompute GFLOP', 'peak', 'activations', 'step s',
                  'overhead', 'measured'], rows.map(function (r) {
      return [r.policy, String(r.kept.length), (r.recompute_flops * 1e-9).toFixed(2),
              grouped(r.predicted.peak_bytes), grouped(r.predicted.by_tag.activation),
              measured ? r.step_seconds.toFixed(4) : '\u2013',
              measured ? r.overhead_percent.toFixed(1) + '%' : '\u2013',
              measured ? (r.measured_equals_predicted ? '= predicted' : 'DIFFERS') : '\u2013'];
    }));
  }

  var pages = {'step': stepPage, 'compare-optimizers': optimizersPage,
               'compare-reuse': reusePage, 'sweep-checkpoint': sweepPage};
  pages[D.kind]();
  document.body.setAttribute('data-drawn', D.kind);
})();
