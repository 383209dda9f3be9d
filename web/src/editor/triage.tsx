// Prediction triage at submit time: predicted boxes nobody reviewed must be accepted or rejected
// before they can be saved. The decision is a pure function of the model (tested in
// web/test/editor-parts.test.ts); the dialog asks it.

import { useEffect, useRef } from "preact/hooks";
import { Modal } from "../components";
import type { EditorModel } from "./model";

/** How many predicted boxes await review before a submit (0: submit at once). A forced submit
 * (after the dialog) or a skip never waits. */
export function reviewNeeded(model: EditorModel, skip: boolean, force: boolean): number {
  return skip || force ? 0 : model.pending().length;
}

/** The dialog's choice: accept or reject every predicted box at or above the slider. */
export function settleReview(model: EditorModel, accept: boolean): void {
  if (accept) model.acceptAbove();
  else model.rejectAbove();
}

/** Submit with predicted boxes nobody reviewed: accept them all (the focused default, so Enter
 * does it), reject them all, or go back to review them one by one. */
export function ReviewDialog(props: { count: number; onChoose: (accept: boolean) => void; onClose: () => void }) {
  const first = useRef<HTMLButtonElement>(null);
  useEffect(() => first.current?.focus(), []);
  const n = props.count;
  return (
    <Modal title="Predicted boxes not reviewed" onClose={props.onClose}>
      <p data-testid="review-text">
        {n} predicted box{n === 1 ? " is" : "es are"} not reviewed. A predicted box becomes part of the annotation only when it is accepted.
      </p>
      <div class="row">
        <button class="primary" ref={first} data-testid="review-accept" onClick={() => props.onChoose(true)}>
          Accept all {n} and submit
        </button>
        <button data-testid="review-reject" onClick={() => props.onChoose(false)}>
          Reject all and submit
        </button>
        <button onClick={props.onClose}>Back</button>
      </div>
    </Modal>
  );
}
