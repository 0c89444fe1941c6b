// Why this file exists: what the status-bar item says for a task's state, as pure data so it is unit-tested.

import type { TaskState } from "./protocol";

export type StatusText = { text: string; tooltip: string };

/** The item's text for the latest task state, or the idle text. */
export function statusText(state: TaskState | null, server: string): StatusText {
  if (server === "missing" || server === "crashed") {
    return { text: "$(error) OpenHands", tooltip: `OpenHands: the server is ${server}; click to open the panel` };
  }
  if (!state) return { text: "$(hubot) OpenHands", tooltip: "OpenHands: no task yet; click to open the panel" };
  const step = `${state.step}/${state.maxIterations}`;
  const line = state.message ? `\n${state.message}` : "";
  switch (state.state) {
    case "starting":
    case "running":
      return { text: `$(sync~spin) OpenHands ${step}`, tooltip: `OpenHands is working (step ${step})${line}` };
    case "retrying":
      return { text: `$(sync~spin) OpenHands ${step} (retrying)`, tooltip: `OpenHands is retrying the model${line}` };
    case "awaiting_approval":
      return { text: `$(shield) OpenHands ${step}: approve?`, tooltip: `OpenHands waits for your approval${line}` };
    case "awaiting_user_input":
      return { text: "$(comment) OpenHands: your turn", tooltip: `OpenHands asks you something${line}` };
    case "finished":
      return { text: "$(check) OpenHands", tooltip: `OpenHands finished${line}` };
    case "stopped":
      return { text: "$(debug-stop) OpenHands", tooltip: `OpenHands was stopped${line}` };
    case "error":
      return { text: "$(error) OpenHands", tooltip: `OpenHands failed${line}` };
  }
}

/** Whether a task in this state still works (a new prompt would have to wait or stop it). */
export function busy(state: TaskState | null): boolean {
  return !!state && ["starting", "running", "retrying", "awaiting_approval"].includes(state.state);
}
