// Small shared UI pieces: links, modal dialogs, spinners, progress bars, messages.

import type { ComponentChildren } from "preact";
import { useEffect } from "preact/hooks";
import { linkClick } from "./lib/router";

export function Link(props: { href: string; class?: string; children: ComponentChildren; title?: string }) {
  return (
    <a href={props.href} class={props.class} title={props.title} onClick={linkClick}>
      {props.children}
    </a>
  );
}

export function Spinner(props: { label?: string }) {
  return (
    <span class="spinner-wrap" role="status">
      <span class="spinner" aria-hidden="true" />
      {props.label && <span>{props.label}</span>}
    </span>
  );
}

export function Progress(props: { value: number | null; label?: string }) {
  const pct = props.value === null ? null : Math.round(Math.max(0, Math.min(1, props.value)) * 100);
  return (
    <div class={"progress" + (pct === null ? " indeterminate" : "")} role="progressbar" aria-valuenow={pct ?? undefined} aria-valuemin={0} aria-valuemax={100} title={props.label}>
      <div class="bar" style={pct === null ? undefined : { width: pct + "%" }} />
    </div>
  );
}

export function Message(props: { kind: "error" | "info" | "ok" | "warn"; children: ComponentChildren; onClose?: () => void }) {
  return (
    <div class={"msg msg-" + props.kind} role={props.kind === "error" ? "alert" : "status"}>
      <span>{props.children}</span>
      {props.onClose && (
        <button class="link" onClick={props.onClose} aria-label="dismiss">
          ×
        </button>
      )}
    </div>
  );
}

export function Modal(props: { title: string; onClose: () => void; children: ComponentChildren; wide?: boolean }) {
  useEffect(() => {
    const fn = (e: KeyboardEvent) => {
      if (e.key === "Escape") {
        e.stopPropagation();
        props.onClose();
      }
    };
    window.addEventListener("keydown", fn, true);
    return () => window.removeEventListener("keydown", fn, true);
  }, [props.onClose]);
  return (
    <div class="modal-back" onMouseDown={(e) => e.target === e.currentTarget && props.onClose()}>
      <div class={"modal" + (props.wide ? " wide" : "")} role="dialog" aria-modal="true" aria-label={props.title}>
        <header>
          <h2>{props.title}</h2>
          <button class="link close" onClick={props.onClose} aria-label="close">
            ×
          </button>
        </header>
        {props.children}
      </div>
    </div>
  );
}

export function fmtNumber(n: number | undefined | null): string {
  return n === undefined || n === null ? "–" : n.toLocaleString("en-US");
}

/** "1 task", "3 tasks", "1,000 annotations". */
export function plural(n: number | undefined | null, word: string): string {
  return `${fmtNumber(n)} ${word}${n === 1 ? "" : "s"}`;
}
