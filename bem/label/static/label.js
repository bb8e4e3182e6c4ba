// bem label: keyboard shortcuts and buttons. Every answer is sent with the pair the page
// shows; the server appends it to the labels file before it replies, then the page reloads.
(() => {
  "use strict";
  const pair = document.getElementById("pair");
  const message = document.getElementById("message");
  const answers = { y: "1", n: "0", u: "unsure" };
  let busy = false;

  async function post(path, body) {
    const response = await fetch(path, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(body || {}),
      cache: "no-store",
    });
    const data = await response.json().catch(() => ({}));
    return { status: response.status, data };
  }

  async function act(key) {
    if (busy) return;
    if (key in answers && !pair) return;
    if (!(key in answers) && key !== "z" && key !== "q") return;
    busy = true;
    document.body.classList.add("busy");
    try {
      if (key === "q") {
        const { data } = await post("quit");
        document.querySelectorAll("main").forEach((m) => m.remove());
        message.textContent = data.message || "session closed";
        return;
      }
      const { status, data } =
        key === "z"
          ? await post("undo")
          : await post("answer", {
              left_id: pair.dataset.left,
              right_id: pair.dataset.right,
              answer: answers[key],
            });
      if (status >= 400 && status !== 409) {
        message.textContent = data.error || `error ${status}`;
        return;
      }
      window.location.reload();
    } catch (error) {
      message.textContent = `the server did not answer: ${error}`;
    } finally {
      busy = false;
      document.body.classList.remove("busy");
    }
  }

  document.addEventListener("keydown", (event) => {
    if (event.ctrlKey || event.metaKey || event.altKey || event.repeat) return;
    const key = event.key.toLowerCase();
    if (key.length === 1 && "ynuzq".includes(key)) {
      event.preventDefault();
      act(key);
    }
  });
  document.querySelectorAll("button[data-key]").forEach((button) => {
    button.addEventListener("click", () => act(button.dataset.key));
  });
})();
