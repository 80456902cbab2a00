/**
 * loadModel(runtime, source, options?): a Hugging Face checkpoint → a model on the runtime.
 * config.json's model_type picks the family and architectures[0] the task; the family reads the
 * config (every field that changes the computation checked) and names the tensors it uses; the
 * weights are matched against those names (missing and unexpected reported together), copied into
 * Wasm memory once, and composed from nn modules.
 */
import type { AttentionRuntime } from '../runtime.js';
import { checkOptions, describe } from '../engine/validate.js';
import { checkWeightDtype, isHalfDtype, type DtypeOption, type WeightDtype } from '../engine/quantized.js';
import type { KVDtype } from '../nn/kv-storage.js';
import { checkKVDtype } from './generation/options.js';
import { readCheckpoint, type Checkpoint, type CheckpointSource, type StateDict } from './checkpoint.js';
import { TextTokenizer, tokenizerLibrary } from './tokenizer.js';
import { bertSpec } from './encoders/bert.js';
import { distilbertSpec } from './encoders/distilbert.js';
import { EncoderModel, type EmbedDefaults } from './encoders/model.js';
import type { EncoderSpec } from './encoders/spec.js';
import { llamaSpec } from './lm/llama.js';
import { gpt2Spec } from './lm/gpt2.js';
import { gemma3Spec } from './lm/gemma3.js';
import { CausalLMModel } from './lm/model.js';
import { tokenIdList, type LMSpec } from './lm/spec.js';
import type { Pooling } from './encoders/pooling.js';
import { SavedReader, savedFormat, type SavedFormat } from './saved-tensors.js';
import { savedLMTensors } from './lm/saved.js';

export interface LoadModelOptions {
  /** config.json fields you know do not change the computation, accepted although this runtime does not know them. */
  ignoreConfigFields?: readonly string[];
  /** The kind of model expected: the result is typed as it, and a checkpoint of the other kind is an error. */
  kind?: 'encoder' | 'causal-lm';
  /**
   * The dtype of the Linear weights (attention projections, feed-forward, output heads) and of the
   * word-embedding table (a tied head shares it): 'f32' (default; 'fp32' is accepted too), 'f16'
   * ('fp16' too) or 'bf16' (16-bit floats, half the bytes, converted to f32 inside the kernels; a
   * checkpoint stored in that format is used as it is, other values are rounded to nearest even at
   * load, and a value beyond f16's range, |x| ≥ 65520, is a RangeError with 'f16'), 'q8' (int8 in
   * blocks of 32 with an f32 scale each, quantized once at load, tensor by tensor: about 3.6× fewer
   * bytes, read once per decoded token) or 'q4' (4-bit values in blocks of 32 with an f32 scale each,
   * llama.cpp's Q4_0 rounding: 6.4× fewer bytes, a larger error than 'q8'). Other tables, norms and
   * biases stay f32, and so does a Q8 / Q4 matrix whose input width is not a multiple of 32. A file
   * that model.save() wrote loads in its own dtype (the default for it; another one is an Error,
   * except that an f32 file may be quantized or rounded to 16 bits).
   */
  dtype?: LoadDtype;
  /**
   * The dtype of the embedding tables (the word table and GPT-2's learned positions) and of the
   * output head, tied to the word table or not; the same spellings as `dtype`, which it defaults to.
   * `{ dtype: 'q4', embeddingDtype: 'q8' }` keeps the tables and the head at 8 bits while the layers
   * are at 4, the mix llama.cpp's Q4_0 files use (their output head at Q6_K): on the small trained
   * test models it cuts q4's next-token KL from f32 by 1.6–4.8× for 0.5 byte more per table weight
   * (docs/accuracy.md). A file that model.save() wrote keeps the tables' dtype it was saved with.
   */
  embeddingDtype?: LoadDtype;
  /**
   * Language models: the element type of the keys and values of the caches the model makes
   * (`model.createCache`, generation): 'f32' (default), 'f16' (IEEE half: half the bytes) or 'q8'
   * (int8 with an f32 scale per position and kv head: 0.28× the bytes at a head dim of 64).
   * `createCache({ kvDtype })` and generation's `kvDtype` choose per cache.
   */
  kvDtype?: KVDtype;
}

/** The dtypes loadModel accepts: 'fp32' is transformers.js's spelling of 'f32'. */
export type LoadDtype = DtypeOption;

type Read<S> = (config: Record<string, unknown>, names: Set<string>, architecture: string, allowed: readonly string[]) => S;
type Family = { architectures: readonly string[] } & ({ kind: 'encoder'; spec: Read<EncoderSpec> } | { kind: 'causal-lm'; spec: Read<LMSpec> });

/** model_type → family: the architectures it loads and its config reader. */
const FAMILIES: Record<string, Family> = {
  bert: {
    kind: 'encoder',
    architectures: ['BertModel', 'BertForSequenceClassification', 'BertForMaskedLM', 'BertForPreTraining'],
    spec: (c, n, a, allowed) => bertSpec(c, n, 'bert', a, allowed),
  },
  distilbert: {
    kind: 'encoder',
    architectures: ['DistilBertModel', 'DistilBertForSequenceClassification', 'DistilBertForMaskedLM'],
    spec: distilbertSpec,
  },
  roberta: {
    kind: 'encoder',
    architectures: ['RobertaModel', 'RobertaForSequenceClassification', 'RobertaForMaskedLM'],
    spec: (c, n, a, allowed) => bertSpec(c, n, 'roberta', a, allowed),
  },
  'xlm-roberta': {
    kind: 'encoder',
    architectures: ['XLMRobertaModel', 'XLMRobertaForSequenceClassification', 'XLMRobertaForMaskedLM'],
    spec: (c, n, a, allowed) => bertSpec(c, n, 'xlm-roberta', a, allowed),
  },
  llama: { kind: 'causal-lm', architectures: ['LlamaForCausalLM'], spec: (c, _n, a, allowed) => llamaSpec(c, 'llama', a, allowed) },
  mistral: { kind: 'causal-lm', architectures: ['MistralForCausalLM'], spec: (c, _n, a, allowed) => llamaSpec(c, 'mistral', a, allowed) },
  qwen2: { kind: 'causal-lm', architectures: ['Qwen2ForCausalLM'], spec: (c, _n, a, allowed) => llamaSpec(c, 'qwen2', a, allowed) },
  qwen3: { kind: 'causal-lm', architectures: ['Qwen3ForCausalLM'], spec: (c, _n, a, allowed) => llamaSpec(c, 'qwen3', a, allowed) },
  phi3: { kind: 'causal-lm', architectures: ['Phi3ForCausalLM'], spec: (c, _n, a, allowed) => llamaSpec(c, 'phi3', a, allowed) },
  gemma3_text: { kind: 'causal-lm', architectures: ['Gemma3ForCausalLM'], spec: (c, _n, a, allowed) => gemma3Spec(c, a, allowed) },
  gpt2: { kind: 'causal-lm', architectures: ['GPT2LMHeadModel'], spec: gpt2Spec },
};

const WHERE = 'loadModel';

/** The families and architectures this runtime loads, for messages and docs. */
export function supportedModels(): Record<string, readonly string[]> {
  return Object.fromEntries(Object.entries(FAMILIES).map(([k, f]) => [k, f.architectures]));
}

/** What loadModel returns: an encoder (`kind: 'encoder'`) or a language model (`kind: 'causal-lm'`). */
export type LoadedModel = EncoderModel | CausalLMModel;

export function loadModel(runtime: AttentionRuntime, source: CheckpointSource, options: LoadModelOptions & { kind: 'encoder' }): Promise<EncoderModel>;
export function loadModel(runtime: AttentionRuntime, source: CheckpointSource, options: LoadModelOptions & { kind: 'causal-lm' }): Promise<CausalLMModel>;
export function loadModel(runtime: AttentionRuntime, source: CheckpointSource, options?: LoadModelOptions): Promise<LoadedModel>;
export async function loadModel(runtime: AttentionRuntime, source: CheckpointSource, options?: LoadModelOptions): Promise<LoadedModel> {
  if (typeof (runtime as { workspace?: unknown })?.workspace !== 'object') {
    throw new TypeError(`${WHERE}: runtime must be a runtime from init(), received ${describe(runtime)}`);
  }
  const opts = checkOptions('options', options, ['ignoreConfigFields', 'kind', 'dtype', 'embeddingDtype', 'kvDtype'], WHERE);
  const dtype = checkWeightDtype(WHERE, 'options.dtype', opts['dtype']);
  const embeddingDtype = opts['embeddingDtype'] === undefined ? dtype : checkWeightDtype(WHERE, 'options.embeddingDtype', opts['embeddingDtype']);
  const kvDtype = checkKVDtype(WHERE, 'options.kvDtype', opts['kvDtype']);
  if (opts['kind'] !== undefined && opts['kind'] !== 'encoder' && opts['kind'] !== 'causal-lm') throw new TypeError(`${WHERE}: options.kind must be 'encoder' or 'causal-lm', received ${describe(opts['kind'])}`);
  const allowed = opts['ignoreConfigFields'] ?? [];
  if (!Array.isArray(allowed) || !allowed.every((f) => typeof f === 'string')) throw new TypeError(`${WHERE}: options.ignoreConfigFields must be an array of field names, received ${describe(allowed)}`);
  const checkpoint = await readCheckpoint(source, WHERE, isHalfDtype(dtype) || isHalfDtype(embeddingDtype) || opts['dtype'] === undefined);
  const { family, architecture } = familyOf(checkpoint);
  const saved = savedFormat(checkpoint.weights, `${WHERE}: ${checkpoint.where}`);
  if (saved) {
    const savedDtype = opts['dtype'] === undefined ? saved.dtype : dtype;
    // the tables keep the dtype they were saved in unless asked otherwise, or follow the dtype asked for a file saved all f32
    const allF32 = saved.dtype === 'f32' && saved.embeddingDtype === 'f32';
    const savedEmbedding = opts['embeddingDtype'] !== undefined ? embeddingDtype : allF32 && opts['dtype'] !== undefined ? dtype : saved.embeddingDtype;
    return loadSaved(runtime, checkpoint, saved, savedDtype, savedEmbedding, kvDtype, family, architecture, allowed, opts['kind']);
  }
  const weights = renameLegacy(checkpoint.weights);
  const names = new Set(Object.keys(weights));
  const tokenizer = checkpoint.tokenizer ? new TextTokenizer(await tokenizerLibrary(WHERE), checkpoint.tokenizer.json, checkpoint.tokenizer.config) : undefined;
  const f = FAMILIES[family]!;
  if (opts['kind'] !== undefined && opts['kind'] !== f.kind) {
    throw new Error(`${WHERE}: ${architecture} in ${checkpoint.where} is ${f.kind === 'encoder' ? 'an encoder' : 'a causal language model'}, not ${opts['kind'] === 'encoder' ? 'an encoder' : 'a causal language model'} (options.kind)`);
  }
  if (f.kind === 'encoder') {
    if (kvDtype !== undefined) throw new TypeError(`${WHERE}: options.kvDtype is the element type of a language model's key/value cache; ${architecture} is an encoder, which keeps none`);
    const spec = f.spec(checkpoint.config, names, architecture, allowed);
    const unused = checkNames(spec.architecture, encoderNames(spec), spec.unused, names, checkpoint.where);
    return new EncoderModel(runtime, spec, weights, tokenizer, checkpoint.tokenizerPlace, embedDefaults(checkpoint, spec), unused, dtype, embeddingDtype);
  }
  const spec = f.spec(checkpoint.config, names, architecture, allowed);
  const unused = checkNames(spec.architecture, new Set(spec.required), spec.unused, names, checkpoint.where);
  const eos = checkpoint.generationConfig?.['eos_token_id'];
  const eosTokenIds = eos === undefined ? spec.eosTokenIds : tokenIdList(eos);
  return new CausalLMModel(runtime, spec, spec.tensors(weights), tokenizer, unused, eosTokenIds, checkpoint.chatTemplate, checkpoint.tokenizer?.config ?? {}, dtype, kvDtype, embeddingDtype);
}

/**
 * A file model.save() wrote, beside its config.json: the tensors as saved, held as they are
 * (f32 ones may still be quantized to `dtype`; quantized ones only load in their own dtype).
 */
async function loadSaved(runtime: AttentionRuntime, checkpoint: Checkpoint, saved: SavedFormat, dtype: WeightDtype, embeddingDtype: WeightDtype, kvDtype: KVDtype | undefined, family: string, architecture: string, allowed: readonly string[], kind: unknown): Promise<LoadedModel> {
  const where = `${WHERE}: ${checkpoint.where}`;
  for (const [option, held, asked] of [['dtype', saved.dtype, dtype], ['embeddingDtype', saved.embeddingDtype, embeddingDtype]] as const) {
    if (held !== 'f32' && asked !== held) {
      const what = option === 'dtype' ? 'weights' : 'embedding tables and head';
      throw new Error(`${where}: the ${what} were saved as ${held}; loading them as ${asked} would ${asked === 'f32' ? 'only widen values already rounded to' : 'round again values already rounded to'} ${held} (lossy): load them with ${option} '${held}' (or without a dtype), or load the original checkpoint with ${option} '${asked}'`);
    }
  }
  const f = FAMILIES[family]!;
  if (f.kind !== saved.kind) throw new Error(`${where}: the saved weights are ${saved.kind === 'encoder' ? 'an encoder' : 'a causal language model'}'s, but config.json describes ${architecture}`);
  if (kind !== undefined && kind !== f.kind) throw new Error(`${where}: ${architecture} is ${f.kind === 'encoder' ? 'an encoder' : 'a causal language model'}, not ${kind === 'encoder' ? 'an encoder' : 'a causal language model'} (options.kind)`);
  const tokenizer = checkpoint.tokenizer ? new TextTokenizer(await tokenizerLibrary(WHERE), checkpoint.tokenizer.json, checkpoint.tokenizer.config) : undefined;
  const reader = new SavedReader(checkpoint.weights, where);
  if (f.kind === 'encoder') {
    if (kvDtype !== undefined) throw new TypeError(`${WHERE}: options.kvDtype is the element type of a language model's key/value cache; ${architecture} is an encoder, which keeps none`);
    // saved under the checkpoint's own names: the usual path, with the quantized matrices held as they are
    const weights = reader.stateDict() as StateDict;
    const spec = f.spec(checkpoint.config, new Set(Object.keys(weights)), architecture, allowed);
    checkNames(spec.architecture, encoderNames(spec), spec.unused, new Set(Object.keys(weights)), checkpoint.where);
    return new EncoderModel(runtime, spec, weights, tokenizer, checkpoint.tokenizerPlace, embedDefaults(checkpoint, spec), [], dtype, embeddingDtype);
  }
  const spec = f.spec(checkpoint.config, new Set(), architecture, allowed);
  const tensors = savedLMTensors(reader, spec);
  const eos = checkpoint.generationConfig?.['eos_token_id'];
  const eosTokenIds = eos === undefined ? spec.eosTokenIds : tokenIdList(eos);
  return new CausalLMModel(runtime, spec, tensors, tokenizer, [], eosTokenIds, checkpoint.chatTemplate, checkpoint.tokenizer?.config ?? {}, dtype, kvDtype, embeddingDtype);
}

function familyOf(checkpoint: Checkpoint): { family: string; architecture: string } {
  const config = checkpoint.config;
  const list = Object.entries(FAMILIES).map(([k, f]) => `${k} (${f.architectures.join(', ')})`).join('; ');
  const type = config['model_type'];
  const archs = config['architectures'];
  const architecture = Array.isArray(archs) && typeof archs[0] === 'string' ? archs[0] : undefined;
  if (typeof type !== 'string') throw new Error(`${WHERE}: config.json in ${checkpoint.where} has no "model_type"; supported: ${list}`);
  const family = FAMILIES[type];
  if (!family) throw new Error(`${WHERE}: model_type "${type}"${architecture ? ` (${architecture})` : ''} is not supported; supported: ${list}`);
  if (architecture !== undefined && !family.architectures.includes(architecture)) {
    throw new Error(`${WHERE}: ${architecture} is not supported; the ${type} architectures this runtime loads: ${family.architectures.join(', ')}`);
  }
  return { family: type, architecture: architecture ?? family.architectures[0]! };
}

/** Old checkpoints name LayerNorm parameters gamma and beta (transformers renames them on load too). */
function renameLegacy(weights: StateDict): StateDict {
  const out: StateDict = {};
  for (const [name, value] of Object.entries(weights)) out[name.replace(/\.gamma$/, '.weight').replace(/\.beta$/, '.bias')] = value;
  return out;
}

/** The tensors an encoder reads. */
function encoderNames(spec: EncoderSpec): Set<string> {
  const required = new Set<string>([spec.embeddings.word, spec.embeddings.position, spec.embeddings.norm.weight, spec.embeddings.norm.bias]);
  if (spec.embeddings.tokenType) required.add(spec.embeddings.tokenType);
  for (const layer of spec.layers) for (const lin of Object.values(layer)) (required.add(lin.weight), required.add(lin.bias));
  if (spec.head) for (const lin of [spec.head.hidden, spec.head.out]) (required.add(lin.weight), required.add(lin.bias));
  return required;
}

/** Every required tensor must be there, and nothing else but known buffers and other tasks' heads; returns those. */
function checkNames(architecture: string, required: Set<string>, isUnused: (name: string) => boolean, names: Set<string>, where: string): string[] {
  const missing = [...required].filter((n) => !names.has(n));
  const unused = [...names].filter((n) => !required.has(n) && isUnused(n));
  const unexpected = [...names].filter((n) => !required.has(n) && !isUnused(n));
  if (missing.length || unexpected.length) {
    const few = (list: string[]) => list.slice(0, 4).join(', ') + (list.length > 4 ? ` and ${list.length - 4} more` : '');
    const parts = [missing.length ? `missing ${missing.length}: ${few(missing)}` : '', unexpected.length ? `unexpected ${unexpected.length}: ${few(unexpected)}` : ''].filter(Boolean);
    throw new Error(`${WHERE}: the weights in ${where} do not match ${architecture} as config.json describes it (${parts.join('; ')})`);
  }
  return unused;
}

/** embed()'s defaults: the sentence-transformers modules when present, else mean pooling without normalisation. */
function embedDefaults(checkpoint: Checkpoint, spec: EncoderSpec): EmbedDefaults {
  const st = checkpoint.sentenceTransformers;
  const defaults: EmbedDefaults = { pooling: 'mean', normalize: false, maxLength: spec.maxLength, lowerCase: false };
  if (!st) return defaults;
  for (const type of st.modules) {
    const name = type.split('.').pop();
    if (!['Transformer', 'Pooling', 'Normalize'].includes(name ?? '')) {
      throw new Error(`${WHERE}: modules.json has a ${type} module, which this runtime does not compute (supported: Transformer, Pooling, Normalize)`);
    }
  }
  defaults.normalize = st.modules.some((t) => t.endsWith('.Normalize'));
  if (st.pooling) {
    const modes = Object.entries(st.pooling).filter(([k, v]) => k.startsWith('pooling_mode_') && v === true).map(([k]) => k.slice('pooling_mode_'.length));
    const map: Record<string, Pooling> = { mean_tokens: 'mean', cls_token: 'cls', max_tokens: 'max' };
    if (modes.length !== 1 || !(modes[0]! in map)) {
      throw new Error(`${WHERE}: the Pooling config asks for ${modes.join(' + ') || 'no mode'}; this runtime computes one of ${Object.keys(map).map((m) => `pooling_mode_${m}`).join(', ')}`);
    }
    defaults.pooling = map[modes[0]!]!;
  }
  const bert = st.bertConfig;
  if (bert) {
    const max = bert['max_seq_length'];
    if (max !== undefined && max !== null) {
      if (typeof max !== 'number' || !Number.isInteger(max) || max < 1) throw new Error(`${WHERE}: sentence_bert_config.json: max_seq_length must be a positive integer, found ${describe(max)}`);
      defaults.maxLength = Math.min(max, spec.maxLength);
    }
    defaults.lowerCase = bert['do_lower_case'] === true;
  }
  return defaults;
}
