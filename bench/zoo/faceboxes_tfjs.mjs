// FaceBoxes in TF.js, the reference for our rebuild (det_zoo_faceboxes.c): runs the TF.js graph
// model faceboxes.json (its anchors, decoding and NMS run inside TensorFlow control flow) with
// TF.js's pure-JS CPU backend on the JPEG pictures at their own size, and prints its detections
// in det_eval_tool's format, each picture's line `image W H` with its size (bench/zoo/run.sh adds
// the true boxes and scores them with det's evaluator). Then the latency at our input size:
// the first picture stretched to 512x512, the median of 5 runs after one, printed on stderr as
// `tfjs_512_ms=MS` (run.sh compares our engine's with it).
// usage: node faceboxes_tfjs.mjs REPO MODEL.json PICTURE.jpg...  (REPO: the source tree, whose
// tests/oracle holds TF.js and web/ playwright-core, whose bundled jpeg-js decodes the pictures)
import { createRequire } from 'node:module';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

const [repo, ...rest] = process.argv.slice(2);
const oracle = createRequire(join(repo, 'tests/oracle/package.json'));
const tf = oracle('@tensorflow/tfjs-core');
oracle('@tensorflow/tfjs-backend-cpu');
const tfc = oracle('@tensorflow/tfjs-converter');
const { graphWeights } = await import(
  pathToFileURL(resolve(repo, 'tests/oracle/graph_model.mjs')).href);
const { jpegjs } = createRequire(import.meta.url)(
  join(repo, 'web/node_modules/playwright-core/lib/utilsBundle.js'));

const [modelPath, ...pics] = rest;
await tf.setBackend('cpu');
const json = JSON.parse(readFileSync(modelPath, 'utf8'));
const model = await tfc.loadGraphModel(
  tf.io.fromMemory({ modelTopology: json.modelTopology, ...graphWeights(json, modelPath) }));
for (const path of pics) {
  const img = jpegjs.decode(readFileSync(path), { useTArray: true });
  const [w, h] = [img.width, img.height];
  const rgb = new Int32Array(w * h * 3);
  for (let k = 0; k < w * h; k++) {
    for (let c = 0; c < 3; c++) rgb[3 * k + c] = img.data[4 * k + c];
  }
  const input = tf.tensor4d(rgb, [1, h, w, 3], 'int32');
  const t0 = Date.now();
  const [boxes, scores, num] = await model.executeAsync({ image_tensor: input },
    ['boxes', 'scores', 'num_boxes']);
  const ms = Date.now() - t0;
  const b = await boxes.data();
  const s = await scores.data();
  const n = (await num.data())[0];
  console.log(`image ${w} ${h}`);
  // boxes: ymin, xmin, ymax, xmax, normalised to the picture
  for (let k = 0; k < n; k++) {
    console.log(`dt ${b[4 * k + 1] * w} ${b[4 * k] * h} ${b[4 * k + 3] * w} ${b[4 * k + 2] * h}`
      + ` 0 ${s[k]}`);
  }
  console.error(`${path}: ${n} boxes, ${ms} ms`);
}
{
  const img = jpegjs.decode(readFileSync(pics[0]), { useTArray: true });
  const rgba = tf.tensor3d(img.data, [img.height, img.width, 4], 'int32');
  const rgb = tf.slice(rgba, [0, 0, 0], [-1, -1, 3]);
  const input = tf.cast(tf.expandDims(tf.image.resizeBilinear(rgb, [512, 512]), 0), 'int32');
  const ms = [];
  for (let k = 0; k < 6; k++) {
    const t0 = performance.now();
    const out = await model.executeAsync({ image_tensor: input }, ['boxes', 'scores', 'num_boxes']);
    await out[2].data();
    ms.push(performance.now() - t0);
    tf.dispose(out);
  }
  const sorted = ms.slice(1).sort((a, b) => a - b);
  console.error(`tfjs_512_ms=${sorted[2].toFixed(1)}`);
}
