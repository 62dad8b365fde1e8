// The library API. The CLI, the server and the report are thin shells over these.
export { BertfuseError, isBertfuseError, type ErrorCode } from './errors.js';
export { loadCheckpoint, hashFiles, setAllowNonFiniteDefault, getAllowNonFiniteDefault, firstNonFinite, type Checkpoint, type LoadCheckpointOptions } from './checkpoint/load.js';
export { parseBertConfig, readBertConfig, parseModelConfig, readModelConfig, toHfConfig, SUPPORTED_ARCHITECTURES, type BertConfig, type ModelConfig, type Architecture, type Task } from './checkpoint/config.js';
export { FAMILIES, getFamily, familyOf, resolveFamily } from './architectures/registry.js';
export type { Family, TokenizerSpec, ModelWeights, ConfigSource } from './architectures/types.js';
export { SafetensorsFile, ShardedSafetensors, writeSafetensors, writeSafetensorsFromMap, type TensorSource, type WriteDType } from './checkpoint/safetensors.js';
export { MemoryTensorStore, numel, type Tensor, type TensorInfo, type TensorStore } from './checkpoint/tensor-store.js';
export { loadTokenizer, BertTokenizer, type TextInput, type Encoded } from './checkpoint/tokenizer.js';
export { createRandomCheckpoint, BERT_BASE, type RandomCheckpointOptions } from './checkpoint/random.js';
export { describeCheckpoint, type CheckpointDescription } from './checkpoint/describe.js';
export { GraphBuilder, attr, encodeModel, decodeModel, type Attr } from './graph/onnx-builder.js';
export { emitBert, emitEncoder, PLAIN_OPS, FUSED_OPS, DEFAULT_OPS, type BertWeights, type EncoderOutputs, type EncoderOps, type EmitOptions } from './graph/bert-graph.js';
export { quantizeGraph, QUANTIZE_MODES, INT8_KERNELS, type QuantizeMode, type QuantizeOptions, type QuantizeReport, type Int8Kernel } from './graph/quantize.js';
export { buildBertGraph, buildBertModel } from './graph/bert-model.js';
export { createSession, type RuntimeOptions } from './runtime/session.js';
export { GraphRunner, type RunOptions, type OutputRows } from './runtime/runner.js';
export { loadClassifier, classifierFromCheckpoint, classifierFromOnnx, type Classifier, type LoadOptions } from './runtime/classifier.js';
export { predict, toTextInput, type Prediction, type PredictInput } from './runtime/predict.js';
export type { FusionMethod, MemberOutputs, MemberRows, FitContext, EmitInputs, ParamSpec, FusionParams } from './fusion/types.js';
export type { DetailedProbabilities } from './runtime/classifier.js';
export { openTorchBin, TorchBinStore } from './checkpoint/pickle/torch-bin.js';
export { resolveModelPath, parseHubId, hubCacheDir, findCachedSnapshot, downloadToCache, type HubOptions, type HubId } from './checkpoint/hub.js';
export { createServer, SERVE_DEFAULTS, type ServeOptions, type PredictResponse, type PredictionJson, type LabelScores } from './serve/server.js';
export { WorkerClassifier, type WorkerLoadOptions } from './runtime/worker-classifier.js';
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
// Weight merging
export { merge, type MergeOptions, type MergeResult, type MergedTask, type MergePhase } from './merge/merge.js';
export { loadMergeRecipe, parseMergeRecipe, mergeRecipeToYaml, type MergeRecipe, type MergeModelSpec, type AlignMode, type HeadsMode, type MergeDType } from './recipe/merge.js';
export { MERGE_METHODS, mergeMethod } from './merge/registry.js';
export type { MergeMethod, MergeParamSpec, TensorMergeInput, MergedTensor, ResolvedParams } from './merge/types.js';
export type { ParamMap, ParamValue, FilteredValue } from './merge/params.js';
export type { EvalSet, EvalRow } from './merge/evaluate.js';
export { solveAssignment, maximiseAssignment } from './align/assignment.js';
export { permuteByParts, type AxisParts, type FamilyAlignment, type TensorAxes } from './align/axis-parts.js';
export type { Permutations } from './align/permutation.js';
export type { AlignmentReport } from './align/align.js';
export { writeMergedFolder, MERGE_MANIFEST } from './artifact/merged.js';
export { loadMultiTask, registerMergedLoader, MultiTaskClassifier, type TaskHead } from './artifact/merged-model.js';
import { registerMergedLoader as registerMerged } from './artifact/merged-model.js';
// `loadClassifier(<multi-task merge>, { task })` opens one head (without a task it names them).
registerMerged();
// Output fusion: members, evaluation, the combined model folder
export { loadMembers, memberSha256, groupSuffix, type Member, type MemberSet, type TokenizerGroup, type LoadMembersOptions } from './members/load.js';
export { runMembers, selectRows, type MemberRun, type RunMembersOptions } from './members/run.js';
export { parseLabelMap, mapLabels, alignLabels, type LabelMap } from './members/labels.js';
export { forwardFlops, bertFlops, datasetFlops, relativeCosts } from './members/cost.js';
export { buildCombinedGraph, groupInputNames, memberOutputName, type CombinedGraphSpec, type GraphMember } from './graph/combine.js';
export { prepare, type PrepareRequest, type Prepared, type Dataset, type DataSpec, type MemberSpec } from './eval/prepare.js';
export { evaluate, evalInputFrom, type EvalInput, type EvalSplit, type MethodChoice, type Evaluation, type ExternalRow } from './eval/evaluate.js';
export { chooseMethods, parseOptionFlags } from './eval/methods.js';
export { EVAL_RESULT_VERSION, summarise, type EvalResult, type EvalRow as FusionEvalRow, type Scores, type Scoring, type PerLabel, type EvalMember, type Disagreement, type Selection, type MetricsSummary } from './eval/result.js';
export { selectBest, paretoFront, SELECTION_RULE, LOG_LOSS_TIE } from './eval/select.js';
export { evalTable, evalSummary, membersSummary } from './eval/format.js';
export { type CombineOptions, type CombineOutcome, type AutoCandidate, type AutoCandidateSource } from './artifact/combine.js';
// combine({ members, data, out }) with the CLI's defaults and its auto (merges included).
export { combine, combineRecipeFrom, type CombineSpec } from './api/combine.js';
export { writeCombined, checkOutputFolder, type WriteCombinedOptions } from './artifact/write.js';
export { loadCombined, registerCombinedLoader, CombinedClassifier } from './artifact/read.js';
export { readManifest, isCombinedFolder, COMBINED_FORMAT, COMBINED_FORMAT_VERSION, MANIFEST_FILE, type CombinedManifest, type ManifestMember, type ManifestTokenizer } from './artifact/manifest.js';
export { modelCard, metricsMarkdown } from './artifact/model-card.js';
export { COMBINE_DEFAULTS, parseCombineRecipe, readCombineRecipe, withCombineDefaults, type CombineRecipe, type CombineRecipeInput } from './recipe/combine.js';
export { writeReport, type ReportWritten } from './report/write.js';
export { renderReport, DEFAULT_MAX_ROWS as REPORT_MAX_ROWS, type RenderOptions as ReportRenderOptions } from './report/render.js';
export { loadReportInput, fromEvalResult as reportModelFromEvalResult, EVAL_FILE as REPORT_EVAL_FILE } from './report/load.js';
export type { ReportModel, ReportRow, ReportMember } from './report/model.js';
import { registerCombinedLoader as registerCombined } from './artifact/read.js';
// `loadClassifier(folder)` from the library opens combined folders too (the CLI registers it as well).
registerCombined();
