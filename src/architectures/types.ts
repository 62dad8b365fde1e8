import type { FamilyAlignment } from '../align/axis-parts.js';
import type { TensorStore } from '../checkpoint/tensor-store.js';
import type { GraphBuilder } from '../graph/onnx-builder.js';
import type { EmitContext, EncoderOps, LayerNames } from '../graph/encoder-blocks.js';

/**
 * One model family (BERT, DistilBERT, RoBERTa, ...) as data plus the few emitter pieces that
 * differ. The rest of bertfuse asks the registry (`registry.ts`) for a config's family and then
 * only talks to this interface: `checkpoint/` for config fields, tensor names and the tokenizer
 * template, `graph/` for the encoder. Fusion and merging never see a family.
 *
 * Adding a family = one file `src/architectures/<family>.ts` exporting a `Family`, one line in
 * `registry.ts`, one fixture test. Shared blocks (embeddings, post-LN layers, attention, FFN,
 * fused kernels) live in `src/graph/encoder-blocks.ts`.
 */

export const SUPPORTED_ACTIVATIONS = ['gelu', 'gelu_new', 'gelu_pytorch_tanh', 'relu'] as const;
export type Activation = (typeof SUPPORTED_ACTIVATIONS)[number];

/** What the model's head does: a sequence classifier, a masked-LM, or a bare encoder. */
export type Task = 'classify' | 'mlm' | 'encoder';

/** Family-specific settings: plain JSON-like values that only the family reads. */
export type ExtraValue = number | string | boolean | null | readonly number[] | readonly string[];

/** The parts of a Hugging Face config that decide the graph, in our own names, for any family. */
export interface ModelConfig {
  /** Registry key of the family (`bert`, `distilbert`, `roberta`, ...). */
  readonly family: string;
  /** The Hugging Face class, `architectures[0]` (e.g. RobertaForSequenceClassification). */
  readonly architecture: string;
  readonly task: Task;
  readonly hiddenSize: number;
  readonly numLayers: number;
  readonly numHeads: number;
  readonly intermediateSize: number;
  readonly vocabSize: number;
  /** Rows of the position table (RoBERTa: tokens + pad + 1), or the longest input otherwise. */
  readonly maxPositions: number;
  /** Rows of the token-type table; 0 when the family has none (no `token_type_ids` input). */
  readonly typeVocabSize: number;
  readonly layerNormEps: number;
  readonly hiddenAct: Activation;
  readonly padTokenId: number;
  /** Label names in class-index order; null for models without a classification head. */
  readonly labels: readonly string[] | null;
  /** Settings only this config's family reads (ELECTRA's embedding width, ...). */
  readonly extra: Readonly<Record<string, ExtraValue>>;
  /** The config.json object as read, so writers can keep fields we do not interpret. */
  readonly raw: Readonly<Record<string, unknown>>;
}

/** The tokenizer side of a family: which models fit, which template, whether type ids are an input. */
export interface TokenizerSpec {
  /** `tokenizer.json` `model.type` values this family ships (WordPiece, BPE, Unigram). */
  readonly models: readonly string[];
  /**
   * `bert`: `[CLS] A [SEP]`, pair `[CLS] A [SEP] B [SEP]` (types 0…0 1…1).
   * `roberta`: `<s> A </s>`, pair `<s> A </s></s> B </s>` (types all 0).
   */
  readonly template: 'bert' | 'roberta';
  /**
   * Type id of a pair's second segment under the `bert` template (default 1). ModernBERT's
   * tokenizer gives 0 throughout; it is reported as HF reports it even where the graph takes none.
   */
  readonly pairTypeId?: 0 | 1;
  /** Default special-token strings when tokenizer_config.json does not name them. */
  readonly specials: { readonly cls: string; readonly sep: string; readonly pad: string };
  /** The model reads `token_type_ids` (false: the graph has no such input). */
  readonly tokenTypes: boolean;
}

/** A checkpoint's weights as the emitter sees them. */
export interface ModelWeights {
  readonly config: ModelConfig;
  /** Prefix of encoder tensor names (`bert.`, `roberta.`, or `""` for bare encoders). */
  readonly prefix: string;
  readonly tensors: TensorStore;
}

/** Graph input names of one tokenizer group; `tokenTypeIds` is null for families without token types. */
export interface EncoderInputs {
  readonly inputIds: string;
  readonly attentionMask: string;
  readonly tokenTypeIds: string | null;
}

/** The graph values one encoder produces, by name inside the builder. */
export interface EncoderOutputs {
  /** Classifier logits [batch, labels]; MLM logits [batch, seq, vocab]; null for bare encoders. */
  readonly logits: string | null;
  /** The head's hidden vector before the final classifier Linear [batch, hidden], when there is one. */
  readonly pooled: string | null;
  /** Final hidden state of the first token ([CLS] / <s>) [batch, hidden]. */
  readonly cls: string;
  /** Final hidden states [batch, seq, hidden]. */
  readonly hidden: string;
}

/** What a classification head reads from its encoder: the first token's state, all states (mean pooling) and the mask. */
export interface HeadInputs {
  readonly cls: string;
  readonly hidden: string;
  readonly attentionMask: string;
}

/** A classification head's values: `pooled` is the vector before the final Linear, `logits` [batch, labels]. */
export interface HeadOutputs {
  readonly logits: string;
  readonly pooled: string;
}

export interface EmitOptions {
  /** Prefix for every initializer and node name, so two members can share one graph. */
  readonly scope?: string;
  /** Kernel choice; unspecified flags take DEFAULT_OPS. */
  readonly ops?: Partial<EncoderOps>;
  /**
   * Every weight enters the graph as its own checkpoint tensor (a Linear's may be transposed), never
   * folded with another (RoBERTa's type row into the position table): a training graph feeds and
   * differentiates each one. Costs an Add per token where inference folds.
   */
  readonly unfolded?: boolean;
  /**
   * Training only: applies dropout of one kind to `x` (shape `dims`, symbols for batch/sequence)
   * and returns the result. Families call it where Hugging Face drops out: embeddings, attention
   * probabilities, each sub-layer's output before its residual add, the classifier's input.
   */
  readonly dropout?: DropoutHook;
  /**
   * Masked LMs only: maps the final hidden states [batch, sequence, hidden] to the rows the MLM
   * head reads (say one masked position per row, [batch, hidden]), so the head — a vocabulary-wide
   * product — runs on those rows alone instead of on every token.
   */
  readonly mlmRows?: (hidden: string) => string;
}

/**
 * Which probability a dropout point uses, by its config field: `hidden` (BERT-style sub-layer outputs
 * and embeddings), `attention` (attention probabilities; ModernBERT also its output projection),
 * `classifier` (the head's input), and the ones only some families have: ModernBERT's `embedding` and
 * `mlp` (GeGLU product), DeBERTa's `pooler` (ContextPooler input).
 */
export type DropoutKind = 'hidden' | 'attention' | 'classifier' | 'embedding' | 'mlp' | 'pooler';
export type DropoutHook = (x: string, kind: DropoutKind, dims: readonly (number | string)[]) => string;

/** Where a family's config came from, for error messages and the architecture it asked for. */
export interface ConfigSource {
  readonly file: string;
  readonly architecture: string;
  readonly task: Task;
}

/**
 * How a BERT-shaped family's tensors map onto BERT's, for merging and alignment: the merge driver,
 * RegMean's statistics and the permutation rules speak BERT's names (`bert.encoder.layer.{i}...`,
 * `bert.pooler.dense`, `classifier`), and a family with post-LN BERT layers under other names says
 * which of its modules plays which part. Families without it merge tensor by tensor under their own
 * names (no alignment, no RegMean).
 */
export interface BertNames {
  /** Per-layer module names, unprefixed, `{i}` the layer index. */
  readonly layers: LayerNames;
  /** The head's hidden Linear on the first token (BERT: `pooler.dense` inside the encoder prefix; RoBERTa: `classifier.dense`). */
  readonly headDense: { readonly module: string; readonly encoder: boolean } | null;
  /** The final Linear whose rows are the classes (BERT: `classifier`; RoBERTa: `classifier.out_proj`). */
  readonly classifier: string;
}

/** A Linear's output, or one of `parts` equal consecutive slices of it (a fused Wqkv holds q, k, v). */
export interface LinearOutput {
  readonly module: string;
  readonly part: number;
  readonly parts: number;
}

/**
 * Where activation statistics are read in a family's emitted graph (merge/probe.ts), for families
 * whose layers are not BERT's under other names (BERT-shaped families derive these from bertNames).
 * Modules are unprefixed Linear names, `{i}` the layer index; a point is the input of a module's
 * MatMul or (q, k, v) the module's output. Each point must be in the units of the permutation
 * group activation matching solves with it: the residual stream, a layer's q/k, v/o or FFN units,
 * or the head group.
 */
export interface ProbeNames {
  /** Its input is the attention block's input (residual units; a pre-LN family's normed stream). */
  readonly attentionInput: string;
  readonly query: LinearOutput;
  readonly key: LinearOutput;
  readonly value: LinearOutput;
  /** Its input is the attention context (v/o units). */
  readonly attentionContext: string;
  /** Its input is the FFN's input (residual units). */
  readonly ffnInput: string;
  /** Its input is the FFN's hidden units (after the activation; a GLU's gated product). */
  readonly ffnHidden: string;
  /** The head's hidden Linear (null: none), and the classifier, whose input is in `headGroup` units. */
  readonly headDense: { readonly module: string; readonly encoder: boolean } | null;
  readonly classifier: string;
  /** The permutation group of the classifier's input units in the family's alignment rules. */
  readonly headGroup: string;
}

export interface Family {
  /** Registry key, also `ModelConfig.family`. */
  readonly name: string;
  /** `model_type` values of config.json that mean this family. */
  readonly modelTypes: readonly string[];
  /** Hugging Face classes (`architectures[0]`) this family runs, and what each one's head is. */
  readonly architectures: Readonly<Record<string, Task>>;
  /** Encoder-name prefixes, tried in order to find the encoder inside a checkpoint. */
  readonly prefixes: readonly string[];
  /** Unprefixed name of a tensor every checkpoint of the family has (finds the prefix). */
  readonly probeTensor: string;
  readonly tokenizer: TokenizerSpec;
  /** config.json (already known to be this family) → ModelConfig; BertfuseError naming `src.file` on bad fields. */
  parseConfig(raw: Readonly<Record<string, unknown>>, src: ConfigSource): ModelConfig;
  /** The family's own config.json fields for `cfg` (labels and unknown raw fields are added by the caller). */
  hfFields(cfg: ModelConfig): Record<string, unknown>;
  /** Unprefixed name of a tensor of layer i: counted first, so a config claiming 10⁹ layers fails fast. */
  layerProbe(i: number): string;
  /** Every tensor the config implies, with its shape (validates checkpoints, creates random ones). */
  expectedTensors(cfg: ModelConfig, prefix: string): Map<string, number[]>;
  /** Longest input (special tokens included) the position table allows; default `maxPositions` (RoBERTa: rows − pad − 1). */
  maxTokens?(cfg: ModelConfig): number;
  /** Expected tensors a checkpoint may lack. */
  isOptional?(cfg: ModelConfig, name: string, prefix: string): boolean;
  /** Which tensors play BERT's parts, for merging and alignment (see BertNames). */
  readonly bertNames?: BertNames;
  /** Where `align: activations` reads units, for families without bertNames (see ProbeNames). */
  readonly probes?: ProbeNames;
  /**
   * Which unit permutations keep this config's function, for `merge --align`, over canonical names
   * (BERT's for families with bertNames, the checkpoint's own otherwise). Absent: alignment is refused.
   */
  alignment?(cfg: ModelConfig): FamilyAlignment;
  /** Emit the encoder and its head into `g`. */
  emit(g: GraphBuilder, w: ModelWeights, inputs: EncoderInputs, opts?: EmitOptions): EncoderOutputs;
  /**
   * Emit only the classification head of `c`'s weights on an encoder's outputs; `emit` uses it for
   * its own head, and a multi-task graph puts one per task on one shared encoder.
   */
  emitHead(c: EmitContext, body: HeadInputs): HeadOutputs;
}
