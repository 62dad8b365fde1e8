// The library API. The CLI, the server and the report are thin shells over these.
export { BertfuseError, isBertfuseError, type ErrorCode } from './errors.js';
export { loadCheckpoint, hashFiles, type Checkpoint } from './checkpoint/load.js';
export { parseBertConfig, readBertConfig, toHfConfig, SUPPORTED_ARCHITECTURES, type BertConfig, type Architecture } from './checkpoint/config.js';
export { SafetensorsFile, ShardedSafetensors, writeSafetensors, writeSafetensorsFromMap, type TensorSource, type WriteDType } from './checkpoint/safetensors.js';
export { MemoryTensorStore, numel, type Tensor, type TensorInfo, type TensorStore } from './checkpoint/tensor-store.js';
export { loadTokenizer, BertTokenizer, type TextInput, type Encoded } from './checkpoint/tokenizer.js';
export { createRandomCheckpoint, BERT_BASE, type RandomCheckpointOptions } from './checkpoint/random.js';
export { describeCheckpoint, type CheckpointDescription } from './checkpoint/describe.js';
export { GraphBuilder, attr, encodeModel, decodeModel, type Attr } from './graph/onnx-builder.js';
export { emitBert, type BertWeights, type EncoderOutputs } from './graph/bert-graph.js';
export { buildBertGraph, buildBertModel } from './graph/bert-model.js';
export { createSession, type RuntimeOptions } from './runtime/session.js';
export { GraphRunner, type RunOptions, type OutputRows } from './runtime/runner.js';
export { loadClassifier, classifierFromCheckpoint, classifierFromOnnx, type Classifier, type LoadOptions } from './runtime/classifier.js';
export { predict, type Prediction } from './runtime/predict.js';
export type { FusionMethod, MemberOutputs, MemberRows, FitContext, EmitInputs, ParamSpec, FusionParams } from './fusion/types.js';
export type { DetailedProbabilities } from './runtime/classifier.js';
export { openTorchBin, TorchBinStore } from './checkpoint/pickle/torch-bin.js';
export { resolveModelPath, parseHubId, hubCacheDir, findCachedSnapshot, downloadToCache, type HubOptions, type HubId } from './checkpoint/hub.js';
export { createServer, SERVE_DEFAULTS, type ServeOptions, type PredictResponse, type PredictionJson, type LabelScores } from './serve/server.js';
export type { ServeLimits } from './serve/request.js';
export { readLabelled, parseLabelled, type LabelledData, type LabelledFormat, type ReadLabelledOptions } from './data/labelled.js';
export { kFolds, foldSplit } from './data/folds.js';
export { FUSION_METHODS, getFusionMethod } from './fusion/registry.js';
export { resolveOptions, type OptionValue, type ResolvedOptions } from './fusion/options.js';
export { fitTemperature } from './fusion/temperature.js';
export {
  classificationMetrics,
  accuracy,
  macroF1,
  logLoss,
  expectedCalibrationError,
  reliabilityBins,
  agreement,
  oracleAccuracy,
  confusionMatrix,
  predictions,
  type ClassificationMetrics,
  type ReliabilityBin,
} from './eval/metrics.js';
