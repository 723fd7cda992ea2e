// The widget's styles (inside its Shadow DOM). Theme it from the host page with the custom
// properties below, e.g. `ua-chat { --ua-accent: #0a7d5a; --ua-radius: 4px; }`.
export const styles = `
:host {
  --ua-font: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif;
  --ua-accent: #4f46e5;
  --ua-accent-fg: #ffffff;
  --ua-bg: #ffffff;
  --ua-surface: #f6f7f9;
  --ua-fg: #1c1f24;
  --ua-muted: #5f6b7a;
  --ua-border: #e3e6eb;
  --ua-user-bg: var(--ua-accent);
  --ua-user-fg: var(--ua-accent-fg);
  --ua-danger: #b42318;
  --ua-radius: 14px;
  --ua-height: 600px;
  display: block;
  height: var(--ua-height);
  min-height: 320px;
  color: var(--ua-fg);
  font: 15px/1.5 var(--ua-font);
}
:host([theme="dark"]) {
  --ua-bg: #15171c;
  --ua-surface: #1e2128;
  --ua-fg: #e8eaee;
  --ua-muted: #9aa4b2;
  --ua-border: #2c3039;
  --ua-accent: #8b85ff;
  --ua-accent-fg: #0e0f13;
  --ua-danger: #ff8a80;
}
@media (prefers-color-scheme: dark) {
  :host([theme="auto"]) {
    --ua-bg: #15171c;
    --ua-surface: #1e2128;
    --ua-fg: #e8eaee;
    --ua-muted: #9aa4b2;
    --ua-border: #2c3039;
    --ua-accent: #8b85ff;
    --ua-accent-fg: #0e0f13;
    --ua-danger: #ff8a80;
  }
}
* { box-sizing: border-box; }
.frame {
  display: flex; flex-direction: column; height: 100%;
  background: var(--ua-bg); border: 1px solid var(--ua-border);
  border-radius: var(--ua-radius); overflow: hidden;
}
header {
  display: flex; align-items: center; gap: 10px; padding: 12px 16px;
  border-bottom: 1px solid var(--ua-border); background: var(--ua-bg);
}
header .title { font-weight: 600; flex: 1; min-width: 0; overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
.phase {
  font-size: 12px; color: var(--ua-muted); background: var(--ua-surface);
  border: 1px solid var(--ua-border); border-radius: 999px; padding: 2px 10px; white-space: nowrap;
}
.status { display: inline-flex; align-items: center; gap: 6px; font-size: 12px; color: var(--ua-muted); }
.status::before { content: ""; width: 8px; height: 8px; border-radius: 50%; background: #9aa4b2; }
.status[data-state="open"]::before { background: #12b76a; }
.status[data-state="reconnecting"]::before, .status[data-state="connecting"]::before { background: #f79009; }
.status[data-state="closed"]::before { background: var(--ua-danger); }
.log {
  flex: 1; overflow-y: auto; padding: 16px; display: flex; flex-direction: column; gap: 12px;
  background: var(--ua-surface); scroll-behavior: smooth;
}
.empty { margin: auto; text-align: center; color: var(--ua-muted); max-width: 28ch; }
.empty strong { display: block; color: var(--ua-fg); font-size: 16px; margin-bottom: 4px; }
.msg { display: flex; flex-direction: column; max-width: min(85%, 72ch); }
.msg.user { align-self: flex-end; align-items: flex-end; }
.msg.assistant { align-self: flex-start; }
.who { font-size: 12px; color: var(--ua-muted); margin: 0 4px 2px; }
.bubble {
  padding: 10px 14px; border-radius: var(--ua-radius); background: var(--ua-bg);
  border: 1px solid var(--ua-border); overflow-wrap: anywhere;
}
.msg.user .bubble { background: var(--ua-user-bg); color: var(--ua-user-fg); border-color: transparent; }
.bubble > :first-child { margin-top: 0; }
.bubble > :last-child { margin-bottom: 0; }
.bubble p, .bubble ul, .bubble ol, .bubble blockquote, .bubble pre { margin: 0 0 8px; }
.bubble ul, .bubble ol { padding-left: 20px; }
.bubble h3, .bubble h4, .bubble h5, .bubble h6 { margin: 10px 0 6px; font-size: 15px; }
.bubble blockquote { border-left: 3px solid var(--ua-border); padding-left: 10px; color: var(--ua-muted); }
.bubble code { font: 13px ui-monospace, SFMono-Regular, Menlo, monospace; background: var(--ua-surface); padding: 1px 4px; border-radius: 4px; }
.bubble pre { overflow-x: auto; background: var(--ua-surface); padding: 8px; border-radius: 8px; }
.bubble a { color: inherit; }
.msg.streaming .bubble::after {
  content: ""; display: inline-block; width: 7px; height: 15px; margin-left: 2px;
  vertical-align: text-bottom; background: var(--ua-accent); animation: blink 1s steps(2) infinite;
}
@keyframes blink { 50% { opacity: 0; } }
@media (prefers-reduced-motion: reduce) { .msg.streaming .bubble::after { animation: none; } .log { scroll-behavior: auto; } }
.meta { font-size: 12px; color: var(--ua-muted); margin: 4px 4px 0; display: flex; gap: 8px; flex-wrap: wrap; }
.meta .warn { color: var(--ua-danger); }
.cite, .source {
  font: inherit; font-size: 12px; cursor: pointer; border: 1px solid var(--ua-border);
  background: var(--ua-surface); color: var(--ua-accent); border-radius: 6px; padding: 0 6px; margin: 0 1px;
}
.sources { display: flex; flex-wrap: wrap; gap: 6px; margin: 6px 4px 0; }
.source { padding: 2px 8px; text-decoration: none; }
.cite:hover, .source:hover { border-color: var(--ua-accent); }
.typing { min-height: 22px; padding: 0 16px; font-size: 13px; color: var(--ua-muted); background: var(--ua-surface); }
.notice {
  margin: 0; padding: 8px 16px; font-size: 13px; border-top: 1px solid var(--ua-border);
  background: var(--ua-bg); color: var(--ua-danger);
}
.notice[hidden] { display: none; }
form { display: flex; gap: 8px; padding: 12px; border-top: 1px solid var(--ua-border); background: var(--ua-bg); align-items: flex-end; }
textarea {
  flex: 1; resize: none; min-height: 44px; max-height: 160px; padding: 10px 12px;
  font: inherit; color: var(--ua-fg); background: var(--ua-surface);
  border: 1px solid var(--ua-border); border-radius: calc(var(--ua-radius) - 4px);
}
textarea:focus-visible, button:focus-visible { outline: 2px solid var(--ua-accent); outline-offset: 2px; }
button.primary, button.secondary {
  font: inherit; font-weight: 600; height: 44px; padding: 0 16px; cursor: pointer;
  border-radius: calc(var(--ua-radius) - 4px); border: 1px solid transparent;
}
button.primary { background: var(--ua-accent); color: var(--ua-accent-fg); }
button.secondary { background: var(--ua-bg); color: var(--ua-fg); border-color: var(--ua-border); }
button:disabled { opacity: 0.5; cursor: not-allowed; }
dialog {
  width: min(560px, calc(100% - 32px)); max-height: 70%; border: 1px solid var(--ua-border);
  border-radius: var(--ua-radius); background: var(--ua-bg); color: var(--ua-fg); padding: 0;
}
dialog::backdrop { background: rgb(0 0 0 / 0.35); }
dialog header { justify-content: space-between; }
dialog .passage { padding: 16px; overflow-y: auto; white-space: pre-wrap; max-height: 50vh; }
.sr-only { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap; }
`;
