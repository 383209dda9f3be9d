// Canvas interaction for the labeling page: the CanvasView (canvas.ts) made on the page's host
// element for one task and destroyed with it, kept in step with the page's draw mode, image
// adjustments and zoom read-out. The pointer work itself is canvas.ts's.

import { useEffect, useRef, useState } from "preact/hooks";
import type { RefObject } from "preact";
import { CanvasView } from "./canvas";
import type { EditorModel } from "./model";

export interface CanvasHost {
  /** The view while the task is shown (null before the first effect and after it ends). */
  view: RefObject<CanvasView | null>;
  /** The zoom in percent, for the toolbar. */
  zoom: number;
  drawMode: boolean;
  setDrawMode(on: boolean | ((d: boolean) => boolean)): void;
  adjust: { b: number; c: number };
  setAdjust(a: { b: number; c: number }): void;
}

/** Makes the view on `host` for `img` (the model must hold the task's boxes first: call after the
 * effect that resets it). The view is also `window.labelloopEditor.view`, for the browser tests. */
export function useCanvasHost(host: RefObject<HTMLDivElement>, model: EditorModel, colours: Map<string, string>, img: HTMLImageElement, taskId: number): CanvasHost {
  const view = useRef<CanvasView | null>(null);
  const [zoom, setZoom] = useState(100);
  const [drawMode, setDrawMode] = useState(false);
  const [adjust, setAdjustState] = useState({ b: 1, c: 1 });

  useEffect(() => {
    const cv = new CanvasView(host.current!, model, colours);
    view.current = cv;
    cv.onFirstFrame = () => {
      performance.mark("ll:editor-ready");
      try {
        performance.measure("ll:editor", "ll:image-loaded", "ll:editor-ready");
      } catch {
        /* marks cleared */
      }
    };
    cv.onView = () => setZoom(cv.zoomPercent);
    cv.setImage(img);
    (window as unknown as Record<string, unknown>).labelloopEditor = { model, view: cv, taskId };
    return () => {
      cv.destroy();
      view.current = null;
      const w = window as unknown as Record<string, unknown>;
      if ((w.labelloopEditor as { model?: unknown } | undefined)?.model === model) delete w.labelloopEditor;
    };
  }, [taskId]);

  useEffect(() => {
    if (view.current) view.current.drawMode = drawMode;
    view.current?.invalidate(false);
  }, [drawMode]);

  const setAdjust = (a: { b: number; c: number }) => {
    setAdjustState(a);
    view.current?.setAdjust(a.b, a.c);
  };
  return { view, zoom, drawMode, setDrawMode, adjust, setAdjust };
}
