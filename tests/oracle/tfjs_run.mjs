// The test oracle: runs a TF.js graph model (the pretrained centernet, blazeface) with TensorFlow.js's
// pure-JS CPU backend and writes the tensors of the named graph nodes, so that tests compare our
// C implementation with TF.js itself.
// usage: node tfjs_run.mjs MODEL.json INPUT.bin N H W OUT.bin NODE...
//   INPUT.bin: float32 NHWC pictures (raw RGB 0..255); OUT.bin: each node's float32 values in
//   order (NHWC), their shapes printed as JSON on stdout. NODE "@blazeface" is BlazeFace's
//   decoding (below), "@faceboxes" FaceBoxes' final boxes (the graph's own NMS, below). A graph
//   whose input is integer (faceboxes: uint8) gets the pictures cast to int32: pass whole numbers.
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import * as tfc from '@tensorflow/tfjs-converter';
import { readFileSync, writeFileSync } from 'node:fs';
import { graphWeights } from './graph_model.mjs';

const [modelPath, inPath, n, h, w, outPath, ...nodes] = process.argv.slice(2);
if (!nodes.length) {
  console.error('usage: node tfjs_run.mjs MODEL.json INPUT.bin N H W OUT.bin NODE...');
  process.exit(2);
}
await tf.setBackend('cpu');
const json = JSON.parse(readFileSync(modelPath, 'utf8'));
// the graph declares a fixed input shape (1x512x512x3); the network itself takes any size
let inputName = null;
let inputType = 'float32';
for (const node of json.modelTopology.node) {
  if (node.op === 'Placeholder') inputName = node.name;
  if (node.op === 'Placeholder' && ['DT_INT32', 'DT_UINT8'].includes(node.attr?.dtype?.type)) inputType = 'int32';
  if (node.op === 'Placeholder' && node.attr?.shape?.shape?.dim) {
    for (const d of node.attr.shape.shape.dim) d.size = '-1';
  }
}
const model = await tfc.loadGraphModel(
  tf.io.fromMemory({ modelTopology: json.modelTopology, ...graphWeights(json, modelPath) }));
const raw = readFileSync(inPath);
const input = tf.cast(tf.tensor4d(new Float32Array(raw.buffer, raw.byteOffset, raw.byteLength / 4),
  [Number(n), Number(h), Number(w), 3]), inputType);
// "@blazeface": BlazeFace's decoded anchors, rows of x0, y0, x1, y1, score (input pixels), from
// the graph's four outputs with TF.js ops as @vladmandic/human decodes them (the graph has no
// decoding): stride-16 anchors (2 a cell) first, then stride-32 (6), anchors at cell centres,
// offsets and sizes in pixels, sigmoid scores.
function blazeface(feeds) {
  const [s16, s32, r16, r32] = model.execute(feeds, ['Identity', 'Identity_1', 'Identity_2',
    'Identity_3']);
  const raw = tf.squeeze(tf.concat([tf.concat([s16, r16], 2), tf.concat([s32, r32], 2)], 1), [0]);
  const anchors = [];
  for (const [stride, per] of [[16, 2], [32, 6]]) {
    for (let y = 0; y < 256 / stride; y++) {
      for (let x = 0; x < 256 / stride; x++) {
        for (let a = 0; a < per; a++) anchors.push([stride * (x + 0.5), stride * (y + 0.5)]);
      }
    }
  }
  const centres = tf.add(tf.slice(raw, [0, 1], [-1, 2]), tf.tensor2d(anchors));
  const half = tf.div(tf.slice(raw, [0, 3], [-1, 2]), 2);
  const scores = tf.sigmoid(tf.slice(raw, [0, 0], [-1, 1]));
  return tf.concat([tf.sub(centres, half), tf.add(centres, half), scores], 1);
}
// "@faceboxes": the graph's final detections of picture 0 (its anchors, decoding and NMS run in
// TF control flow: executeAsync), rows of x0, y0, x1, y1 (input pixels), score.
async function faceboxes(feeds) {
  const [boxes, scores, num] = await model.executeAsync(feeds, ['boxes', 'scores', 'num_boxes']);
  const k = (await num.data())[0];
  const b = tf.slice(tf.squeeze(boxes, [0]), [0, 0], [k, 4]);
  const [y0, x0, y1, x1] = tf.split(b, 4, 1);
  const [hh, ww] = [Number(h), Number(w)];
  const s = tf.reshape(tf.slice(tf.squeeze(scores, [0]), [0], [k]), [k, 1]);
  return tf.concat([tf.mul(x0, ww), tf.mul(y0, hh), tf.mul(x1, ww), tf.mul(y1, hh), s], 1);
}
const feeds = { [inputName]: input };
const list = [];
for (const node of nodes) {
  if (node === '@blazeface') list.push(blazeface(feeds));
  else if (node === '@faceboxes') list.push(await faceboxes(feeds));
  else list.push(model.execute(feeds, node));
}
const parts = [];
const shapes = [];
for (const t of list) {
  parts.push(Buffer.from((await t.data()).buffer));
  shapes.push(t.shape);
}
writeFileSync(outPath, Buffer.concat(parts));
console.log(JSON.stringify(shapes));
