import fs from 'node:fs';
import path from 'node:path';
import { withTempFile, writeFileAtomic } from '../util/atomic.js';
import { encodeModel, type GraphBuilder } from './onnx-builder.js';

/** protobuf cannot hold messages over 2 GiB; stay clear of the limit. */
export const EXTERNAL_DATA_THRESHOLD = 1.8 * 1024 ** 3;

export interface SaveOnnxOptions {
  /** Move weights to `<file>_data` when their total exceeds this many bytes. */
  readonly externalThreshold?: number;
  readonly opset?: number;
}

/**
 * Writes a graph to `file`. Small models embed their weights; large ones (BERT-large and up, or
 * two BERT-base members plus more) put them in `<file>_data` beside it (ONNX external data), which
 * onnxruntime resolves when the model is opened by path. Both files go through temp + rename.
 */
export function saveOnnx(g: GraphBuilder, file: string, opts: SaveOnnxOptions = {}): { external: boolean } {
  const threshold = opts.externalThreshold ?? EXTERNAL_DATA_THRESHOLD;
  const opset = opts.opset === undefined ? {} : { opset: opts.opset };
  if (g.weightBytes() <= threshold) {
    writeFileAtomic(file, encodeModel(g.toModel(opset)));
    return { external: false };
  }
  const dataName = `${path.basename(file)}_data`;
  const dataPath = path.join(path.dirname(file), dataName);
  let bytes: Uint8Array = new Uint8Array();
  withTempFile(dataPath, (fd) => {
    let offset = 0;
    const model = g.toModel({
      ...opset,
      external: {
        location: dataName,
        write(chunk) {
          // Align each tensor to 4 KiB so onnxruntime can memory-map it.
          const pad = (4096 - (offset % 4096)) % 4096;
          if (pad) fs.writeSync(fd, new Uint8Array(pad));
          offset += pad;
          fs.writeSync(fd, chunk);
          const at = offset;
          offset += chunk.byteLength;
          return at;
        },
      },
    });
    bytes = encodeModel(model);
  });
  writeFileAtomic(file, bytes);
  return { external: true };
}
