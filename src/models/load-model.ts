/**
 * loadModel(runtime, source, options?): a Hugging Face checkpoint → a model on the runtime.
 * config.json's model_type picks the family and architectures[0] the task; the family reads the
 * config (every field that changes the computation checked) and names the tensors it uses; the
 * weights are matched against those names (missing and unexpected reported together), copied into
 * Wasm memory once, and composed from nn modules.
 */
import type { AttentionRuntime } from '../runtime.js';
import { checkOptions, describe } from '../engine/validate.js';
import { readCheckpoint, type Checkpoint, type CheckpointSource, type StateDict } from './checkpoint.js';
import { TextTokenizer } from './tokenizer.js';
import { bertSpec } from './encoders/bert.js';
import { distilbertSpec } from './encoders/distilbert.js';
import { EncoderModel, type EmbedDefaults } from './encoders/model.js';
import type { EncoderSpec } from './encoders/spec.js';
import type { Pooling } from './encoders/pooling.js';

export interface LoadModelOptions {
  /** config.json fields you know do not change the computation, accepted although this runtime does not know them. */
  ignoreConfigFields?: readonly string[];
}

interface Family {
  architectures: readonly string[];
  spec(config: Record<string, unknown>, names: Set<string>, architecture: string, allowed: readonly string[]): EncoderSpec;
}

/** model_type → family: the architectures it loads and its config reader. */
const FAMILIES: Record<string, Family> = {
  bert: {
    architectures: ['BertModel', 'BertForSequenceClassification', 'BertForMaskedLM', 'BertForPreTraining'],
    spec: (c, n, a, allowed) => bertSpec(c, n, 'bert', a, allowed),
  },
  distilbert: {
    architectures: ['DistilBertModel', 'DistilBertForSequenceClassification', 'DistilBertForMaskedLM'],
    spec: distilbertSpec,
  },
  roberta: {
    architectures: ['RobertaModel', 'RobertaForSequenceClassification', 'RobertaForMaskedLM'],
    spec: (c, n, a, allowed) => bertSpec(c, n, 'roberta', a, allowed),
  },
  'xlm-roberta': {
    architectures: ['XLMRobertaModel', 'XLMRobertaForSequenceClassification', 'XLMRobertaForMaskedLM'],
    spec: (c, n, a, allowed) => bertSpec(c, n, 'xlm-roberta', a, allowed),
  },
};

const WHERE = 'loadModel';

/** The families and architectures this runtime loads, for messages and docs. */
export function supportedModels(): Record<string, readonly string[]> {
  return Object.fromEntries(Object.entries(FAMILIES).map(([k, f]) => [k, f.architectures]));
}

export async function loadModel(runtime: AttentionRuntime, source: CheckpointSource, options?: LoadModelOptions): Promise<EncoderModel> {
  if (typeof (runtime as { workspace?: unknown })?.workspace !== 'object') {
    throw new TypeError(`${WHERE}: runtime must be a runtime from init(), received ${describe(runtime)}`);
  }
  const opts = checkOptions('options', options, ['ignoreConfigFields'], WHERE);
  const allowed = opts['ignoreConfigFields'] ?? [];
  if (!Array.isArray(allowed) || !allowed.every((f) => typeof f === 'string')) throw new TypeError(`${WHERE}: options.ignoreConfigFields must be an array of field names, received ${describe(allowed)}`);
  const checkpoint = await readCheckpoint(source, WHERE);
  const { family, architecture } = familyOf(checkpoint);
  const weights = renameLegacy(checkpoint.weights);
  const names = new Set(Object.keys(weights));
  const spec = FAMILIES[family]!.spec(checkpoint.config, names, architecture, allowed);
  const unused = checkNames(spec, names, checkpoint.where);
  const tokenizer = checkpoint.tokenizer ? new TextTokenizer(checkpoint.tokenizer.json, checkpoint.tokenizer.config) : undefined;
  return new EncoderModel(runtime, spec, weights, tokenizer, checkpoint.tokenizerPlace, embedDefaults(checkpoint, spec), unused);
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

/** Every tensor the spec names must be there, and nothing else but known buffers and other tasks' heads. */
function checkNames(spec: EncoderSpec, names: Set<string>, where: string): string[] {
  const required = new Set<string>([spec.embeddings.word, spec.embeddings.position, spec.embeddings.norm.weight, spec.embeddings.norm.bias]);
  if (spec.embeddings.tokenType) required.add(spec.embeddings.tokenType);
  for (const layer of spec.layers) for (const lin of Object.values(layer)) (required.add(lin.weight), required.add(lin.bias));
  if (spec.head) for (const lin of [spec.head.hidden, spec.head.out]) (required.add(lin.weight), required.add(lin.bias));
  const missing = [...required].filter((n) => !names.has(n));
  const unused = [...names].filter((n) => !required.has(n) && spec.unused(n));
  const unexpected = [...names].filter((n) => !required.has(n) && !spec.unused(n));
  if (missing.length || unexpected.length) {
    const few = (list: string[]) => list.slice(0, 4).join(', ') + (list.length > 4 ? ` and ${list.length - 4} more` : '');
    const parts = [missing.length ? `missing ${missing.length}: ${few(missing)}` : '', unexpected.length ? `unexpected ${unexpected.length}: ${few(unexpected)}` : ''].filter(Boolean);
    throw new Error(`${WHERE}: the weights in ${where} do not match ${spec.architecture} as config.json describes it (${parts.join('; ')})`);
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
