/**
 * A Hugging Face checkpoint read into memory: config.json, the weights (model.safetensors, or the
 * shards named by model.safetensors.index.json), tokenizer.json + tokenizer_config.json, and the
 * sentence-transformers files (modules.json, the Pooling module's config.json,
 * sentence_bert_config.json) when present. From a folder (path, URL, picked files) or from objects.
 */
import { readSafetensorsLazily, type SafetensorsByteTensor, type SafetensorsTensor } from '../engine/safetensors.js';
import { describe, type TensorLike } from '../engine/validate.js';
import { isPickedFiles, openFolder, parseJson, type CheckpointFolder } from './files.js';

export type StateDict = Record<string, SafetensorsTensor | SafetensorsByteTensor | TensorLike>;

/** A checkpoint already in memory (each JSON file parsed, the weights as bytes or a state_dict). */
export interface CheckpointObjects {
  /** config.json */
  config: Record<string, unknown>;
  /** model.safetensors's bytes, or the state_dict (name → { data, shape }). */
  weights: Uint8Array | ArrayBuffer | StateDict;
  /** tokenizer.json */
  tokenizer?: Record<string, unknown>;
  /** tokenizer_config.json */
  tokenizerConfig?: Record<string, unknown>;
  /** sentence-transformers' modules.json */
  modules?: unknown[];
  /** sentence-transformers' Pooling module config (1_Pooling/config.json) */
  pooling?: Record<string, unknown>;
  /** sentence-transformers' sentence_bert_config.json */
  sentenceBertConfig?: Record<string, unknown>;
  /** generation_config.json */
  generationConfig?: Record<string, unknown>;
  /** chat_template.jinja's text (tokenizer_config.json's chat_template is read from tokenizerConfig). */
  chatTemplate?: string;
}

/** A folder path or `file:` URL (Node), a base URL, the files of a picked folder, or the checkpoint's objects. */
export type CheckpointSource = string | URL | FileList | readonly File[] | CheckpointObjects;

export interface Checkpoint {
  /** Where it came from, for messages. */
  where: string;
  config: Record<string, unknown>;
  weights: StateDict;
  tokenizer?: { json: Record<string, unknown>; config: Record<string, unknown> };
  /** Where tokenizer.json was looked for (for the error when a text needs it). */
  tokenizerPlace: string;
  sentenceTransformers?: SentenceTransformersFiles;
  /** generation_config.json */
  generationConfig?: Record<string, unknown>;
  /** The chat template: tokenizer_config.json's chat_template, or chat_template.jinja. */
  chatTemplate?: string;
}

export interface SentenceTransformersFiles {
  /** The module types of modules.json, in order (e.g. 'sentence_transformers.models.Pooling'). */
  modules: string[];
  pooling?: Record<string, unknown>;
  bertConfig?: Record<string, unknown>;
}

const OBJECT_KEYS = ['config', 'weights', 'tokenizer', 'tokenizerConfig', 'modules', 'pooling', 'sentenceBertConfig', 'generationConfig', 'chatTemplate'];

export async function readCheckpoint(source: CheckpointSource, where: string): Promise<Checkpoint> {
  if (typeof source === 'string' || source instanceof URL || isPickedFiles(source)) {
    return readFolder(await openFolder(source as string | URL | FileList, where), where);
  }
  if (typeof source !== 'object' || source === null) {
    throw new TypeError(`${where}: source must be a folder path or URL, the files of a picked folder, or { config, weights, tokenizer? }, received ${describe(source)}`);
  }
  return fromObjects(source, where);
}

function fromObjects(source: CheckpointObjects, where: string): Checkpoint {
  const unknown = Object.keys(source).filter((k) => !OBJECT_KEYS.includes(k));
  if (unknown.length) throw new TypeError(`${where}: source has unknown field${unknown.length > 1 ? 's' : ''} ${unknown.join(', ')} (expected ${OBJECT_KEYS.join(', ')})`);
  const record = (name: string, value: unknown): Record<string, unknown> | undefined => {
    if (value === undefined) return undefined;
    if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new TypeError(`${where}: source.${name} must be the parsed JSON object, received ${describe(value)}`);
    return value as Record<string, unknown>;
  };
  const config = record('config', source.config);
  if (!config) throw new TypeError(`${where}: source.config is missing (the parsed config.json)`);
  const w = source.weights;
  let weights: StateDict;
  if (w instanceof Uint8Array || w instanceof ArrayBuffer) weights = readSafetensorsLazily(w);
  else if (typeof w === 'object' && w !== null && !Array.isArray(w) && !ArrayBuffer.isView(w)) weights = w as StateDict;
  else throw new TypeError(`${where}: source.weights must be model.safetensors's bytes or a state_dict (name → { data, shape }), received ${describe(w)}`);
  const tokenizer = record('tokenizer', source.tokenizer);
  const modules = source.modules;
  if (modules !== undefined && !Array.isArray(modules)) throw new TypeError(`${where}: source.modules must be the parsed modules.json (an array), received ${describe(modules)}`);
  const tokenizerConfig = record('tokenizerConfig', source.tokenizerConfig) ?? {};
  if (source.chatTemplate !== undefined && typeof source.chatTemplate !== 'string') throw new TypeError(`${where}: source.chatTemplate must be the template's text, received ${describe(source.chatTemplate)}`);
  return {
    where: 'the objects passed to loadModel',
    config,
    weights,
    generationConfig: record('generationConfig', source.generationConfig),
    chatTemplate: source.chatTemplate ?? templateOf(tokenizerConfig),
    tokenizer: tokenizer ? { json: tokenizer, config: tokenizerConfig } : undefined,
    tokenizerPlace: 'source.tokenizer',
    sentenceTransformers: modules
      ? { modules: moduleTypes(modules, 'source.modules'), pooling: record('pooling', source.pooling), bertConfig: record('sentenceBertConfig', source.sentenceBertConfig) }
      : undefined,
  };
}

async function readFolder(folder: CheckpointFolder, where: string): Promise<Checkpoint> {
  const json = async (name: string): Promise<Record<string, unknown> | undefined> => {
    const bytes = await folder.read(name);
    if (bytes === undefined) return undefined;
    const value = parseJson(bytes, folder.locate(name));
    if (typeof value !== 'object' || value === null) throw new Error(`${folder.locate(name)}: expected a JSON object, found ${describe(value)}`);
    return value as Record<string, unknown>;
  };
  const [config, tokenizerJson, tokenizerConfig, modulesJson, bertConfig, generationConfig, templateBytes] = await Promise.all([
    json('config.json'), json('tokenizer.json'), json('tokenizer_config.json'), json('modules.json'), json('sentence_bert_config.json'),
    json('generation_config.json'), folder.read('chat_template.jinja'),
  ]);
  if (!config) throw new Error(`${where}: config.json not found in ${folder.where} (looked for ${folder.locate('config.json')})`);
  const weights = await readWeights(folder, where);
  let sentenceTransformers: SentenceTransformersFiles | undefined;
  if (modulesJson) {
    const list = modulesJson as unknown as unknown[];
    if (!Array.isArray(list)) throw new Error(`${folder.locate('modules.json')}: expected a JSON array of modules`);
    const modules = moduleTypes(list, folder.locate('modules.json'));
    const poolingEntry = list.find((m) => String((m as { type?: unknown }).type).endsWith('.Pooling')) as { path?: unknown } | undefined;
    let pooling: Record<string, unknown> | undefined;
    if (poolingEntry) {
      const name = `${String(poolingEntry.path ?? '1_Pooling').replace(/\/$/, '')}/config.json`;
      pooling = await json(name);
      if (!pooling) throw new Error(`${where}: modules.json has a Pooling module but ${name} was not found (looked for ${folder.locate(name)})`);
    }
    sentenceTransformers = { modules, pooling, bertConfig };
  }
  return {
    where: folder.where,
    config,
    weights,
    generationConfig,
    chatTemplate: templateBytes ? new TextDecoder().decode(templateBytes) : templateOf(tokenizerConfig ?? {}),
    tokenizer: tokenizerJson ? { json: tokenizerJson, config: tokenizerConfig ?? {} } : undefined,
    tokenizerPlace: folder.locate('tokenizer.json'),
    sentenceTransformers,
  };
}

/** tokenizer_config.json's chat_template: a string, or a list of named templates (the 'default' one). */
function templateOf(tokenizerConfig: Record<string, unknown>): string | undefined {
  const t = tokenizerConfig['chat_template'];
  if (typeof t === 'string') return t;
  if (Array.isArray(t)) {
    const named = t.find((x) => (x as { name?: unknown })?.name === 'default') ?? t[0];
    const text = (named as { template?: unknown } | undefined)?.template;
    return typeof text === 'string' ? text : undefined;
  }
  return undefined;
}

function moduleTypes(list: unknown[], place: string): string[] {
  return list.map((m, i) => {
    const type = (m as { type?: unknown } | null)?.type;
    if (typeof type !== 'string') throw new Error(`${place}: module ${i} has no "type"`);
    return type;
  });
}

/** model.safetensors, or every shard of model.safetensors.index.json merged (each name from the shard the index names). */
async function readWeights(folder: CheckpointFolder, where: string): Promise<StateDict> {
  const single = await folder.read('model.safetensors');
  if (single) return readSafetensorsLazily(single);
  const indexBytes = await folder.read('model.safetensors.index.json');
  if (!indexBytes) {
    throw new Error(
      `${where}: no weights in ${folder.where}: looked for ${folder.locate('model.safetensors')} and ${folder.locate('model.safetensors.index.json')}` +
      ' (only safetensors files are read; a pytorch_model.bin can be converted with safetensors.torch.save_file)',
    );
  }
  const place = folder.locate('model.safetensors.index.json');
  const index = parseJson(indexBytes, place) as { weight_map?: Record<string, unknown> };
  const map = index?.weight_map;
  if (typeof map !== 'object' || map === null) throw new Error(`${place}: no "weight_map" object`);
  const shards = [...new Set(Object.values(map))];
  if (shards.some((s) => typeof s !== 'string')) throw new Error(`${place}: every weight_map value must be a shard file name`);
  const files = await Promise.all(shards.map(async (name) => {
    const bytes = await folder.read(name as string);
    if (!bytes) throw new Error(`${where}: the shard ${name as string} named in model.safetensors.index.json was not found (looked for ${folder.locate(name as string)})`);
    return [name as string, readSafetensorsLazily(bytes)] as const;
  }));
  const byShard = new Map(files);
  const weights: StateDict = {};
  for (const [name, shard] of Object.entries(map)) {
    const tensor = byShard.get(shard as string)![name];
    if (tensor === undefined) throw new Error(`${where}: ${name} is not in ${shard as string}, where model.safetensors.index.json says it is`);
    weights[name] = tensor;
  }
  return weights;
}
