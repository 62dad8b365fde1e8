import type { Command } from 'commander';
import { BertfuseError } from '../errors.js';
import { QUANTIZE_MODES, type QuantizeMode } from '../graph/quantize.js';

/*
 * The flags of commands that load a graph to run (predict, serve; combine's --quantize): kept apart
 * from flags.ts so that loading a model does not pull in the data, label and method flags.
 */

/** `--quantize <mode>` parsed the same way by every command that takes it (predict, serve, combine). */
export function quantizeMode(v: string): QuantizeMode {
  const mode = QUANTIZE_MODES.find((m) => m === v);
  if (!mode) throw new BertfuseError('E_USAGE', `--quantize must be ${QUANTIZE_MODES.join(' or ')}, got "${v}"`);
  return mode;
}

/** `--quantize <mode>` of predict and serve (the models they load, as `loadClassifier` takes them). */
export function addQuantizeFlag(cmd: Command): Command {
  return cmd.option('--quantize <mode>', 'int8: dynamically int8-quantised encoder layers (faster; outputs shift slightly). Models built from weights and multi-task merges (whose model.onnx may be int8 already); an .onnx file runs as it is', quantizeMode);
}

/** `--task <name>` of predict and serve: which head of a multi-task merge answers (merge's `--task` names them). */
export function addTaskFlag(cmd: Command, help: string): Command {
  return cmd.option('--task <name>', help);
}
