// The test oracle: runs a TF.js graph model (the pretrained centernet) with TensorFlow.js's
// pure-JS CPU backend and writes the tensors of the named graph nodes, so that tests compare our
// C implementation with TF.js itself.
// usage: node tfjs_run.mjs MODEL.json INPUT.bin N H W OUT.bin NODE...
//   INPUT.bin: float32 NHWC pictures (raw RGB 0..255); OUT.bin: each node's float32 values in
//   order (NHWC), their shapes printed as JSON on stdout.
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import * as tfc from '@tensorflow/tfjs-converter';
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

const [modelPath, inPath, n, h, w, outPath, ...nodes] = process.argv.slice(2);
if (!nodes.length) {
  console.error('usage: node tfjs_run.mjs MODEL.json INPUT.bin N H W OUT.bin NODE...');
  process.exit(2);
}
await tf.setBackend('cpu');
const json = JSON.parse(readFileSync(modelPath, 'utf8'));
// the graph declares a fixed input shape (1x512x512x3); the network itself takes any size
for (const node of json.modelTopology.node) {
  if (node.op === 'Placeholder' && node.attr?.shape?.shape?.dim) {
    for (const d of node.attr.shape.shape.dim) d.size = '-1';
  }
}
const specs = [];
const buffers = [];
for (const group of json.weightsManifest) {
  specs.push(...group.weights);
  for (const p of group.paths) buffers.push(readFileSync(join(dirname(modelPath), p)));
}
const all = Buffer.concat(buffers);
const weightData = all.buffer.slice(all.byteOffset, all.byteOffset + all.byteLength);
const model = await tfc.loadGraphModel(
  tf.io.fromMemory({ modelTopology: json.modelTopology, weightSpecs: specs, weightData }));
const raw = readFileSync(inPath);
const input = tf.tensor4d(new Float32Array(raw.buffer, raw.byteOffset, raw.byteLength / 4),
  [Number(n), Number(h), Number(w), 3]);
const inputName = Object.keys(json.signature?.inputs ?? { 'tower_0/images': 0 })[0];
const outs = model.execute({ [inputName]: input }, nodes);
const list = Array.isArray(outs) ? outs : [outs];
const parts = [];
const shapes = [];
for (const t of list) {
  parts.push(Buffer.from((await t.data()).buffer));
  shapes.push(t.shape);
}
writeFileSync(outPath, Buffer.concat(parts));
console.log(JSON.stringify(shapes));
