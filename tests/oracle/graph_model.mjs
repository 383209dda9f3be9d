// The weights of a TF.js graph model, read from the files its manifest names next to MODEL.json:
// shared by the test oracle (tfjs_run.mjs) and the benchmarks that run a graph in TF.js.
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

/** { weightSpecs, weightData } of the parsed model JSON `json` read from `modelPath`. */
export function graphWeights(json, modelPath) {
  const weightSpecs = [];
  const buffers = [];
  for (const group of json.weightsManifest) {
    weightSpecs.push(...group.weights);
    for (const p of group.paths) buffers.push(readFileSync(join(dirname(modelPath), p)));
  }
  const all = Buffer.concat(buffers);
  return { weightSpecs, weightData: all.buffer.slice(all.byteOffset, all.byteOffset + all.byteLength) };
}
