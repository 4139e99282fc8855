// The digits model in the reader's browser (_ext/primer_demo.py writes the markup and the files).
// Nothing is fetched until the reader opens the demo; then ONNX Runtime Web (its WebAssembly
// build, on one thread: threads need cross-origin isolation, set by HTTP headers that static hosts
// such as GitHub Pages do not send), the model and the self-test data come from this site's demo/
// folder, and nothing is sent anywhere.
(() => {
  const demo = document.querySelector("details.digits-demo");
  if (!demo) return;
  const SIZE = 8;
  const TOLERANCE = 1e-5; // the self-test: the largest difference allowed from PyTorch's probabilities
  const status = demo.querySelector(".digits-demo-status");
  const cells = [...demo.querySelectorAll(".digits-demo-cell")];
  const top = demo.querySelector(".digits-demo-top");
  const ink = new Float32Array(SIZE * SIZE);
  let ort, session, selftest, started = false, running = false, again = false;
  let changes = 0; // pixels changed so far; the list of guesses says which count it shows (data-changes)

  const softmax = (logits) => {
    const max = Math.max(...logits);
    const exps = Array.from(logits, (x) => Math.exp(x - max));
    const sum = exps.reduce((a, b) => a + b, 0);
    return exps.map((e) => e / sum);
  };

  async function probabilities(pixels, count) {
    const input = new ort.Tensor("float32", pixels, [count, SIZE * SIZE]);
    const output = (await session.run({ [selftest.input]: input }))[selftest.output].data;
    return Array.from({ length: count }, (_, i) => softmax(output.subarray(i * 10, i * 10 + 10)));
  }

  function say(text, failed = false) {
    status.textContent = text;
    status.classList.toggle("is-failed", failed);
  }

  async function start() {
    started = true;
    say("Loading ONNX Runtime Web and the model…");
    try {
      ort = await import(new URL(demo.dataset.runtime, location.href).href);
      ort.env.wasm.numThreads = 1;
      ort.env.wasm.wasmPaths = { wasm: new URL(demo.dataset.wasm, location.href).href };
      const [model, data] = await Promise.all([
        fetch(demo.dataset.model).then((r) => (r.ok ? r.arrayBuffer() : Promise.reject(new Error(r.statusText)))),
        fetch(demo.dataset.selftest).then((r) => (r.ok ? r.json() : Promise.reject(new Error(r.statusText)))),
      ]);
      selftest = data;
      session = await ort.InferenceSession.create(new Uint8Array(model), { executionProviders: ["wasm"] });
      const digits = selftest.digits;
      const batch = new Float32Array(digits.flatMap((d) => d.pixels));
      const ours = await probabilities(batch, digits.length);
      let largest = 0;
      digits.forEach((d, i) => d.probabilities.forEach((p, j) => {
        largest = Math.max(largest, Math.abs(p - ours[i][j]));
      }));
      demo.dataset.largestDifference = String(largest);
      if (!(largest <= TOLERANCE)) {
        say(`Self-test failed: the browser's outputs differ from PyTorch's by up to ${largest.toExponential(1)} ` +
            `for ${digits.length} test digits (more than ${TOLERANCE}).`, true);
        return;
      }
      say(`Self-test: the browser's outputs match PyTorch's for ${digits.length} test digits ` +
          `(largest difference ${largest.toExponential(1)}).`);
      for (const button of demo.querySelectorAll(".digits-demo-load")) button.disabled = false;
      predict();
    } catch (error) {
      say(`The demo could not start: ${error.message}`, true);
    }
  }

  async function predict() {
    if (!session) return;
    if (running) {
      again = true;
      return;
    }
    running = true;
    try {
      do {
        again = false;
        await showPrediction();
      } while (again);
    } catch (error) {
      say(`The model could not run: ${error.message}`, true);
    } finally {
      running = false;
    }
  }

  async function showPrediction() {
    const seen = changes;
    if (!ink.some((v) => v > 0)) {
      top.replaceChildren(item("Nothing drawn yet.", "digits-demo-empty"));
    } else {
      const [p] = await probabilities(ink.slice(), 1);
      const best = p.map((value, digit) => ({ digit, value })).sort((a, b) => b.value - a.value).slice(0, 3);
      top.replaceChildren(...best.map(({ digit, value }) => {
        const li = item("", "digits-demo-guess");
        li.dataset.digit = String(digit);
        li.dataset.probability = String(value);
        const bar = document.createElement("span");
        bar.className = "digits-demo-bar";
        bar.style.width = `${(value * 100).toFixed(1)}%`;
        li.append(`${digit}: ${(value * 100).toFixed(1)}%`, bar);
        return li;
      }));
    }
    top.dataset.changes = String(seen);
  }

  function item(text, className) {
    const li = document.createElement("li");
    li.className = className;
    li.textContent = text;
    return li;
  }

  function paint(index, value) {
    demo.dataset.changes = String(++changes);
    ink[index] = value;
    const cell = cells[index];
    cell.style.setProperty("--ink", String(value));
    cell.setAttribute("aria-pressed", value > 0 ? "true" : "false");
  }

  function setAll(values) {
    values.forEach((v, i) => paint(i, v));
    predict();
  }

  // Keyboard: one tab stop for the grid; arrows, Home and End move; Space or Enter toggles (the
  // button's own click, which has detail 0, as has a click from assistive technology).
  function focusCell(index) {
    cells.forEach((c, i) => { c.tabIndex = i === index ? 0 : -1; });
    cells[index].focus();
  }

  const MOVES = { ArrowLeft: [0, -1], ArrowRight: [0, 1], ArrowUp: [-1, 0], ArrowDown: [1, 0] };
  demo.querySelector(".digits-demo-grid").addEventListener("keydown", (event) => {
    const index = cells.indexOf(event.target);
    if (index < 0) return;
    let row = Math.floor(index / SIZE), col = index % SIZE;
    if (event.key in MOVES) {
      row = Math.min(SIZE - 1, Math.max(0, row + MOVES[event.key][0]));
      col = Math.min(SIZE - 1, Math.max(0, col + MOVES[event.key][1]));
    } else if (event.key === "Home") {
      col = 0;
    } else if (event.key === "End") {
      col = SIZE - 1;
    } else {
      return;
    }
    event.preventDefault();
    focusCell(row * SIZE + col);
  });

  // Mouse, pen and touch: press on a cell and drag; the stroke inks, or rubs out when it started on
  // ink. A fast stroke skips cells between two pointer events: the line between them is drawn too.
  let stroke = null, last = -1;
  const grid = demo.querySelector(".digits-demo-grid");
  const cellAt = (event) => cells.indexOf(document.elementFromPoint(event.clientX, event.clientY));
  function line(from, to) {
    const [r0, c0, r1, c1] = [Math.floor(from / SIZE), from % SIZE, Math.floor(to / SIZE), to % SIZE];
    const steps = Math.max(Math.abs(r1 - r0), Math.abs(c1 - c0), 1);
    return Array.from({ length: steps + 1 }, (_, k) =>
      Math.round(r0 + ((r1 - r0) * k) / steps) * SIZE + Math.round(c0 + ((c1 - c0) * k) / steps));
  }
  grid.addEventListener("pointerdown", (event) => {
    const index = cells.indexOf(event.target);
    if (index < 0 || event.button !== 0) return;
    event.preventDefault(); // no text selection, no focus ring jump while drawing
    grid.setPointerCapture(event.pointerId);
    stroke = ink[index] > 0 ? 0 : 1;
    last = index;
    focusCell(index);
    paint(index, stroke);
    predict();
  });
  grid.addEventListener("pointermove", (event) => {
    const index = stroke === null ? -1 : cellAt(event);
    if (index < 0 || index === last) return;
    for (const i of line(last, index)) if (ink[i] !== stroke) paint(i, stroke);
    last = index;
    predict();
  });
  const endStroke = () => { stroke = null; };
  grid.addEventListener("pointerup", endStroke);
  grid.addEventListener("pointercancel", endStroke);
  grid.addEventListener("click", (event) => {
    const index = cells.indexOf(event.target);
    if (index < 0 || event.detail !== 0) return; // a pointer's click: drawn on pointerdown already
    paint(index, ink[index] > 0 ? 0 : 1);
    predict();
  });

  demo.querySelector(".digits-demo-clear").addEventListener("click", () => setAll(new Array(SIZE * SIZE).fill(0)));
  for (const button of demo.querySelectorAll(".digits-demo-load")) {
    button.addEventListener("click", () => {
      setAll(selftest.digits[Number(button.dataset.digit)].pixels);
    });
  }

  demo.addEventListener("toggle", () => {
    if (demo.open && !started) start();
  });
})();
